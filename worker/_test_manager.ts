/**
 * An in-process manager for the worker's tests (unit and integration): a one-member cluster on
 * loopback (plain-text gRPC), its own node drained so the orchestrator places every task on the
 * worker nodes the test adds, and helpers to find a service's tasks.
 */
import { Manager } from "../manager/manager.ts";
import { write } from "../manager/api/context.ts";
import { WarrenClient } from "../net/client/client.ts";
import type { ServiceSpecInput, Task } from "../proto/schema/mod.ts";
import { VERSION } from "../proto/version.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { startWorkerNode, type WorkerNode } from "./node.ts";

/** A manager under test. */
export interface TestManager extends AsyncDisposable {
  readonly mgr: Manager;
  readonly dir: string;
  /** gRPC API address. */
  readonly apiAddress: string;
  readonly client: WarrenClient;
  /** Records node `nodeId` as a joined worker. */
  addNode(nodeId: string): Promise<void>;
  /** Creates a service; returns its ID. */
  createService(spec: ServiceSpecInput): Promise<string>;
  /** Scales a replicated service (0 stops its tasks). */
  scale(serviceId: string, replicas: number): Promise<void>;
  /** The service's tasks, oldest first. */
  tasksOf(serviceId: string): Task[];
  /** The task as the manager stores it. */
  task(id: string): Task | undefined;
  /** Stops the manager (its data stays for {@link restart}). */
  stop(): Promise<void>;
  /** Starts it again from its data directory on the same API port. */
  restart(): Promise<void>;
}

/** Starts a one-member cluster on loopback (`dispatcherBatchMs` default 5). */
export async function startTestManager(
  o: { dispatcherBatchMs?: number } = {},
): Promise<TestManager> {
  const dir = await Deno.makeTempDir({ prefix: "warren-worker-mgr-" });
  const apiPort = freePort();
  const start = (init: boolean) =>
    Manager.start({
      dataDir: dir,
      apiAddr: `127.0.0.1:${apiPort}`,
      raftAddr: "127.0.0.1:0",
      httpAddr: "127.0.0.1:0",
      advertiseAddr: "127.0.0.1",
      ...(init ? { init: { clusterName: "worker-test" } } : {}),
      insecure: true,
      tickMs: 10,
      dispatcher: { heartbeatPeriodMs: 200, batchMs: o.dispatcherBatchMs ?? 5 },
      // Outages in these tests last seconds; the node must not be declared down meanwhile.
      orchestrator: { nodeDownAfterMs: 60_000 },
    });
  let mgr: Manager;
  try {
    mgr = await start(true);
  } catch (err) {
    await Deno.remove(dir, { recursive: true });
    throw err;
  }
  await write(mgr.ctx, {
    kind: "node.update",
    at: Date.now(),
    id: mgr.identity.nodeId,
    update: { availability: "drain", labelsAdd: {}, labelsRemove: [] },
  });
  let client = new WarrenClient({ managers: [mgr.apiAddress] });
  let stopped = false;
  const tm: TestManager = {
    get mgr() {
      return mgr;
    },
    dir,
    get apiAddress() {
      return `127.0.0.1:${apiPort}`;
    },
    get client() {
      return client;
    },
    async addNode(nodeId) {
      const at = Date.now();
      await write(mgr.ctx, {
        kind: "node.register",
        at,
        node: {
          id: nodeId,
          hostname: nodeId,
          role: "worker",
          addresses: { advertise: "127.0.0.1" },
          labels: {},
          resources: { nanoCpus: 2e9, memoryBytes: 2 ** 31 },
          platform: { os: "linux", arch: "amd64" },
          availability: "active",
          status: { state: "unknown", message: "", lastHeartbeatAt: 0 },
          version: VERSION,
          createdAt: at,
          updatedAt: at,
        },
      });
    },
    async createService(spec) {
      return (await client.services.create(spec)).id;
    },
    async scale(serviceId, replicas) {
      await client.services.scale(serviceId, replicas);
    },
    tasksOf(serviceId) {
      if (stopped) return [];
      return [...mgr.store.state.tasks.values()].filter((t) => t.serviceId === serviceId)
        .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    },
    task(id) {
      return stopped ? undefined : mgr.store.state.tasks.get(id);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      client.close();
      await mgr.stop();
    },
    async restart() {
      await tm.stop();
      mgr = await start(false);
      await mgr.waitForLeader();
      client = new WarrenClient({ managers: [mgr.apiAddress] });
      stopped = false;
    },
    async [Symbol.asyncDispose]() {
      try {
        await tm.stop();
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  };
  return tm;
}

/** A free TCP port on 127.0.0.1 (bound and released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Polls `cond` every 20 ms until it holds; fails after `timeoutMs`. */
export async function eventually(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts worker node `w1` (as {@link TestManager.addNode} records it) against `managers`, with
 * the short report and reconnect timings the tests use.
 */
export async function startTestWorkerNode(
  dataDir: string,
  runtime: Runtime,
  managers: string[],
  extra: Partial<Parameters<typeof startWorkerNode>[0]> = {},
): Promise<WorkerNode> {
  return await startWorkerNode({
    nodeId: "w1",
    dataDir,
    runtime,
    managers,
    register: {
      hostname: "w1",
      addresses: { advertise: "127.0.0.1" },
      resources: { nanoCpus: 2e9, memoryBytes: 2 ** 30 },
      platform: { os: "linux", arch: "amd64" },
      version: VERSION,
    },
    reportBatchMs: 20,
    reconnectMinMs: 50,
    reconnectMaxMs: 200,
    ...extra,
  });
}
