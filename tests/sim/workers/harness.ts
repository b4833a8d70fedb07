/**
 * Simulated workers: the real worker ({@link Worker} + {@link Agent}, the two halves
 * `startWorkerNode` composes) over a {@link FakeRuntime} each, many per process, speaking the
 * real WorkerService protocol (Register, Heartbeat, Assignments stream, ReportStatus) to real
 * managers over gRPC.
 *
 * ```
 *  SimWorkers.start ─► ClusterService.Join (worker token, CSR) ─► node record, node ID
 *        │              (or node IDs the test registered itself)
 *        └─► per node: Worker.open(FakeRuntime, local state) + Agent.start(managers)
 *  kill(i)    agent closed without draining or reporting, worker closed: the manager only
 *             notices the silence; containers stay in the node's FakeRuntime (like containerd
 *             outliving a crashed worker process)
 *  restart(i) a new Worker + Agent over the same runtime and local state: re-adopts them
 * ```
 *
 * Local state lives in a temporary directory per node (`persistent`, default: a restart keeps
 * the tasks) or in memory (`:memory:`, cheap enough for a thousand nodes in one process; a
 * restart then forgets its tasks).
 * @module
 */
import { join } from "node:path";
import { codecs } from "../../../proto/convert.ts";
import * as wire from "../../../proto/gen/warren.ts";
import type { Platform, Resources } from "../../../proto/schema/mod.ts";
import { VERSION } from "../../../proto/version.ts";
import { WarrenError } from "../../../proto/errors.ts";
import { ManagerPool } from "../../../net/client/manager_pool.ts";
import { createCsr, generateKeyPair } from "../../../manager/security/mod.ts";
import { FakeRuntime } from "../../../runtime/fake.ts";
import { Worker } from "../../../worker/worker.ts";
import { Agent } from "../../../worker/agent.ts";
import { simImages } from "./images.ts";

/** Options of {@link SimWorkers.start}. */
export interface SimWorkersOptions {
  /** Manager API addresses, `host:port`. */
  managers: readonly string[];
  /** Number of nodes. */
  count: number;
  /**
   * How the node records come to exist: `token` joins each node through ClusterService.Join
   * with a worker join token (the real path); `nodeIds` are records the caller wrote itself
   * (`node.register`), one per node.
   */
  join: { token: string } | { nodeIds: readonly string[] };
  /** Host names are `${namePrefix}${i}`. Default `sim-`. */
  namePrefix?: string;
  /** What each node offers. Default 4 CPUs, 8 GiB. */
  resources?: Resources;
  /** Node labels given at join (token path only). */
  labels?: (i: number) => Record<string, string>;
  platform?: Platform;
  /** Local state on disk (restart keeps tasks) or in memory. Default true. */
  persistent?: boolean;
  /** Status batching window of each agent. Default 20 ms. */
  reportBatchMs?: number;
  /** Reconnect backoff bounds of each agent. Defaults 50 ms and 500 ms. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Nodes joined and started at once. Default 50. */
  concurrency?: number;
}

/** One simulated node. */
export interface SimNode {
  readonly index: number;
  readonly nodeId: string;
  readonly hostname: string;
  /** Its container runtime; survives {@link SimWorkers.kill}. */
  readonly runtime: FakeRuntime;
  /** The running worker and agent, undefined while killed. */
  readonly worker: Worker | undefined;
  readonly agent: Agent | undefined;
}

interface NodeSlot {
  index: number;
  nodeId: string;
  hostname: string;
  runtime: FakeRuntime;
  dataDir: string;
  worker: Worker | undefined;
  agent: Agent | undefined;
}

/** Calls `fn`, again after a pause when it fails with a retryable error (a busy leader). */
async function retrying<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1;; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !(err instanceof WarrenError && err.retryable)) throw err;
      await new Promise((r) => setTimeout(r, 200 * i));
    }
  }
}

const DEFAULT_RESOURCES: Resources = { nanoCpus: 4e9, memoryBytes: 8 * 2 ** 30 };

/** N simulated worker nodes. See the module doc. */
export class SimWorkers implements AsyncDisposable {
  readonly #o: SimWorkersOptions;
  readonly #nodes: NodeSlot[] = [];
  readonly #root: string;
  #closed = false;

  private constructor(o: SimWorkersOptions, root: string) {
    this.#o = o;
    this.#root = root;
  }

  /** Joins (or takes) the node records, then starts every node's worker and agent. */
  static async start(o: SimWorkersOptions): Promise<SimWorkers> {
    const root = await Deno.makeTempDir({ prefix: "warren-simw-" });
    const sw = new SimWorkers(o, root);
    try {
      const ids = "nodeIds" in o.join ? [...o.join.nodeIds] : await sw.#joinAll(o.join.token);
      if (ids.length !== o.count) {
        throw new Error(`${o.count} nodes asked for, ${ids.length} node IDs given`);
      }
      const prefix = o.namePrefix ?? "sim-";
      for (let i = 0; i < o.count; i++) {
        sw.#nodes.push({
          index: i,
          nodeId: ids[i]!,
          hostname: `${prefix}${i}`,
          runtime: new FakeRuntime({ images: simImages() }),
          dataDir: join(root, String(i)),
          worker: undefined,
          agent: undefined,
        });
      }
      await sw.#each(sw.#nodes, (n) => sw.#open(n));
      return sw;
    } catch (err) {
      await sw.close();
      throw err;
    }
  }

  /** The nodes, in index order. */
  get nodes(): readonly SimNode[] {
    return this.#nodes;
  }

  /** Node IDs in index order. */
  get nodeIds(): string[] {
    return this.#nodes.map((n) => n.nodeId);
  }

  /** Number of nodes whose agent has a session and applied its complete assignments. */
  get connected(): number {
    return this.#nodes.filter((n) => n.agent?.connected).length;
  }

  /** Resolves once every running node is connected (bounded). */
  async waitConnected(timeoutMs = 30_000): Promise<void> {
    await Promise.all(this.#nodes.map((n) => n.agent?.waitConnected(timeoutMs)));
  }

  /** Tasks running in node `i`'s runtime (as the runtime sees them). */
  async runningContainers(i: number): Promise<string[]> {
    const list = await this.#nodes[i]!.runtime.list();
    return list.filter((c) => c.state === "running").map((c) => c.id);
  }

  /**
   * Kills node `i`'s worker process, as far as the managers can tell: the session goes silent
   * without a drain or a last report. Its containers stay in its runtime.
   */
  async kill(i: number): Promise<void> {
    const n = this.#nodes[i]!;
    const { agent, worker } = n;
    n.agent = undefined;
    n.worker = undefined;
    // Close the agent first so nothing the worker does while stopping reaches a manager.
    await agent?.close();
    await worker?.stop({ drain: false });
  }

  /** Starts node `i` again over its runtime and local state (it re-adopts its containers). */
  async restart(i: number): Promise<void> {
    const n = this.#nodes[i]!;
    if (n.agent) throw new Error(`node ${n.hostname} is running: kill it first`);
    await this.#open(n);
  }

  /** Stops node `i` gracefully: stop receiving, optionally drain, report, close. */
  async stopNode(i: number, opts: { drain?: boolean } = {}): Promise<void> {
    const n = this.#nodes[i]!;
    const { agent, worker } = n;
    n.agent = undefined;
    n.worker = undefined;
    await agent?.stopReceiving();
    await worker?.stop({ drain: opts.drain ?? false });
    await agent?.flushReports(5_000);
    await agent?.close();
  }

  /** Kills every node and removes the local state. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#each(this.#nodes, (n) => this.kill(n.index));
    await Deno.remove(this.#root, { recursive: true }).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #open(n: NodeSlot): Promise<void> {
    const o = this.#o;
    const persistent = o.persistent ?? true;
    const worker = await Worker.open({
      nodeId: n.nodeId,
      dataDir: n.dataDir,
      runtime: n.runtime,
      ...(persistent ? {} : { statePath: ":memory:" }),
    });
    n.worker = worker;
    n.agent = Agent.start({
      worker,
      managers: o.managers,
      register: {
        hostname: n.hostname,
        addresses: { advertise: "127.0.0.1" },
        resources: o.resources ?? DEFAULT_RESOURCES,
        platform: o.platform ?? { os: "linux", arch: "amd64" },
        version: VERSION,
      },
      // Its own connection, as a worker on its own machine has: grpc-js otherwise shares one
      // HTTP/2 connection among every client of the process with the same target, and one
      // broken connection would end every node's session at once.
      channelOptions: { "grpc.use_local_subchannel_pool": 1 },
      reportBatchMs: o.reportBatchMs ?? 20,
      reconnectMinMs: o.reconnectMinMs ?? 50,
      reconnectMaxMs: o.reconnectMaxMs ?? 500,
    });
  }

  /** ClusterService.Join for every node (one key pair, a CSR per node). */
  async #joinAll(token: string): Promise<string[]> {
    const o = this.#o;
    const keyPair = await generateKeyPair();
    const pool = new ManagerPool({ addresses: o.managers, callTimeoutMs: 30_000 });
    const prefix = o.namePrefix ?? "sim-";
    const ids: string[] = new Array(o.count);
    try {
      await this.#each(Array.from({ length: o.count }, (_, i) => i), async (i) => {
        const hostname = `${prefix}${i}`;
        const csrPem = await createCsr({ keyPair, commonName: hostname });
        const res = codecs.JoinResponse.fromWire(
          await retrying(() =>
            pool.unary(
              wire.ClusterServiceService.join,
              codecs.JoinRequest.toWire({
                token,
                hostname,
                addresses: { advertise: "127.0.0.1" },
                resources: o.resources ?? DEFAULT_RESOURCES,
                platform: o.platform ?? { os: "linux", arch: "amd64" },
                labels: o.labels?.(i) ?? {},
                version: VERSION,
                csrPem,
              }),
            )
          ),
        );
        ids[i] = res.nodeId;
      });
    } finally {
      pool.close();
    }
    return ids;
  }

  /** Runs `fn` over `items`, `concurrency` at a time. */
  async #each<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
    const width = this.#o.concurrency ?? 50;
    let next = 0;
    const errors: unknown[] = [];
    await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        try {
          await fn(item);
        } catch (err) {
          errors.push(err);
        }
      }
    }));
    if (errors.length > 0) throw errors[0];
  }
}
