/**
 * A simulated cluster for orchestrator tests: in-process managers ({@link startSimManagers})
 * plus simulated workers ({@link SimWorkers}) joined through ClusterService.Join, and the
 * questions the tests ask of the leader's store.
 * @module
 */
import type { Node, Task } from "../../../proto/schema/mod.ts";
import { configureLogging } from "../../../proto/log.ts";
import { type SimManagers, type SimManagersOptions, startSimManagers } from "./managers.ts";
import { SimWorkers, type SimWorkersOptions } from "./harness.ts";

/** Options of {@link startSimCluster}. */
export interface SimClusterOptions extends SimManagersOptions {
  /** Worker nodes. */
  workers: number;
  /** Worker settings other than managers, count and join. */
  worker?: Omit<SimWorkersOptions, "managers" | "count" | "join">;
  /** Log level of the managers and workers. Default error. */
  logLevel?: "debug" | "info" | "warn" | "error";
}

/** Managers and workers of one test. */
export interface SimCluster extends AsyncDisposable {
  readonly m: SimManagers;
  readonly w: SimWorkers;
  /** The leader's view of node `i` (worker index). */
  node(i: number): Node;
  /** Worker index of `nodeId` (-1 for none). */
  indexOf(nodeId: string | undefined): number;
  /** Tasks of a service, oldest first. */
  tasks(serviceId: string): Task[];
  /** Tasks meant to run and observed running. */
  running(serviceId: string): Task[];
  /** Joins `count` more workers (their indexes follow the existing ones in {@link extra}). */
  addWorkers(count: number): Promise<SimWorkers>;
  /** Workers added with {@link addWorkers}. */
  readonly extra: SimWorkers[];
}

/** Starts managers, joins `workers` simulated workers and waits until all are connected. */
export async function startSimCluster(o: SimClusterOptions): Promise<SimCluster> {
  configureLogging({ level: o.logLevel ?? "error" });
  const m = await startSimManagers({
    ...o,
    dispatcher: { heartbeatPeriodMs: 100, batchMs: 5, ...o.dispatcher },
    orchestrator: { nodeDownAfterMs: 1_000, ...o.orchestrator },
  });
  const extra: SimWorkers[] = [];
  let w: SimWorkers;
  try {
    w = await SimWorkers.start({
      ...o.worker,
      managers: m.apiAddresses,
      count: o.workers,
      join: { token: await m.workerToken() },
    });
    await w.waitConnected();
  } catch (err) {
    await m.close();
    throw err;
  }
  const leaderState = () => {
    const l = m.managers.find((x) => x.raft.leader.isLeader) ?? m.managers[0]!;
    return l.store.state;
  };
  const tasks = (serviceId: string) => m.tasksOf(serviceId);
  let extraCount = 0;
  return {
    m,
    w,
    extra,
    node: (i) => leaderState().nodes.get(w.nodeIds[i]!)!,
    indexOf: (id) => (id === undefined ? -1 : w.nodeIds.indexOf(id)),
    tasks,
    running: (serviceId) =>
      tasks(serviceId).filter((t) => t.desiredState === "running" && t.status.state === "running"),
    addWorkers: async (count) => {
      const more = await SimWorkers.start({
        ...o.worker,
        managers: m.apiAddresses,
        count,
        namePrefix: `sim-extra${extraCount++}-`,
        join: { token: await m.workerToken() },
      });
      extra.push(more);
      await more.waitConnected();
      return more;
    },
    async [Symbol.asyncDispose]() {
      try {
        for (const e of extra) await e.close();
        await w.close();
      } finally {
        await m.close();
      }
    },
  };
}
