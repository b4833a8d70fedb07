/**
 * The pure Raft core of Warren's managers: a deterministic state machine (no I/O, clocks or
 * randomness of its own) driven by an I/O shell through {@link RaftCore}. See ../README.md.
 * @module
 */
export { RaftCore } from "./raft_core.ts";
export type { Ready } from "./ready.ts";
export type { ProgressStatus, Status } from "./status.ts";
export {
  type RaftConfig,
  type ReadOnlyOption,
  resolveConfig,
  type ResolvedRaftConfig,
} from "./config.ts";
export type { InitialState, Storage, StorageWriter, WritableStorage } from "./storage.ts";
export { MemoryStorage } from "./memory_storage.ts";
export { runStorageConformance, type TestStepper } from "./storage_conformance.ts";
export type * from "./messages.ts";
export { isLocalMessage, isResponseMessage } from "./messages.ts";
export * from "./types.ts";
export * from "./codec.ts";
export * from "./errors.ts";
export { type Rand, randomInt, seedFromString, xoshiro128 } from "./prng.ts";
export type { ProgressState } from "./progress.ts";
