/**
 * Client of the Warren manager API: {@link WarrenClient} (domain types in and out, typed errors,
 * failover between managers) and the pieces it is built from.
 * @module
 */
export {
  type ManagerStatus,
  type ReadOptions,
  WarrenClient,
  type WarrenClientOptions,
} from "./client.ts";
export { watchEvents, type WatchOptions } from "./events.ts";
export { type ExecIo, type LogsOptions } from "./task_streams.ts";
export {
  isFailover,
  ManagerPool,
  type ManagerPoolOptions,
  type MethodDef,
} from "./manager_pool.ts";
