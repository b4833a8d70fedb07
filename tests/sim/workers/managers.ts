/**
 * In-process managers for simulated-worker tests and benchmarks: one (`count: 1`) or a Raft
 * group of real {@link Manager}s on loopback with plain-text gRPC (`insecure`), real Raft over
 * gRPC between them, fast ticks. More members join the first through ClusterService.Join with a
 * manager token, as `warren join` does.
 * @module
 */
import { Manager, type ManagerOptions } from "../../../manager/manager.ts";
import { write } from "../../../manager/api/context.ts";
import { codecs } from "../../../proto/convert.ts";
import * as wire from "../../../proto/gen/warren.ts";
import { VERSION } from "../../../proto/version.ts";
import type { Resources, Task } from "../../../proto/schema/mod.ts";
import { ManagerPool } from "../../../net/client/manager_pool.ts";
import { WarrenClient } from "../../../net/client/client.ts";
import { createCsr, exportKeyPem, generateKeyPair } from "../../../manager/security/mod.ts";

/** Options of {@link startSimManagers}. */
export interface SimManagersOptions {
  /** Raft members. Default 1. */
  count?: number;
  /** Raft tick. Default 10 ms. */
  tickMs?: number;
  dispatcher?: ManagerOptions["dispatcher"];
  orchestrator?: ManagerOptions["orchestrator"];
  /**
   * The overlay range split into a /24 per node. Default 10.128.0.0/10 (16,384 nodes; the
   * cluster default /16 holds only 256).
   */
  clusterCidr?: string;
}

/** A running group of managers. */
export interface SimManagers extends AsyncDisposable {
  readonly managers: readonly Manager[];
  /** API addresses of every member. */
  readonly apiAddresses: string[];
  /** A client over every member. */
  readonly client: WarrenClient;
  /** The member leading now (waits for one, bounded). */
  leader(): Promise<Manager>;
  /** The worker join token. */
  workerToken(): Promise<string>;
  /** Tasks of service `serviceId` in the leader's store, oldest first. */
  tasksOf(serviceId: string): Task[];
  /** Stops every member and removes their data. Idempotent. */
  close(): Promise<void>;
}

/** Starts `count` managers; resolves once all are voters. */
export async function startSimManagers(o: SimManagersOptions = {}): Promise<SimManagers> {
  const count = o.count ?? 1;
  const dirs: string[] = [];
  const managers: Manager[] = [];
  const base = (dir: string): ManagerOptions => ({
    dataDir: dir,
    apiAddr: "127.0.0.1:0",
    raftAddr: "127.0.0.1:0",
    httpAddr: "127.0.0.1:0",
    advertiseAddr: "127.0.0.1",
    insecure: true,
    tickMs: o.tickMs ?? 10,
    ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
    ...(o.orchestrator ? { orchestrator: o.orchestrator } : {}),
  });
  const ref: { client?: WarrenClient } = {};
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    ref.client?.close();
    for (const m of managers.reverse()) await m.stop().catch(() => {});
    for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
  };
  try {
    const mk = async () => {
      const d = await Deno.makeTempDir({ prefix: "warren-simm-" });
      dirs.push(d);
      return d;
    };
    const first = await Manager.start({
      ...base(await mk()),
      init: { clusterName: "sim", cidrs: { clusterCidr: o.clusterCidr ?? "10.128.0.0/10" } },
    });
    managers.push(first);
    await first.waitForLeader();
    for (let i = 1; i < count; i++) {
      const token = await managerToken(first);
      const apiPort = freePort();
      const raftPort = freePort();
      const keyPair = await generateKeyPair();
      const pool = new ManagerPool({ addresses: [first.apiAddress] });
      let response;
      try {
        response = codecs.JoinResponse.fromWire(
          await pool.unary(
            wire.ClusterServiceService.join,
            codecs.JoinRequest.toWire({
              token,
              hostname: `sim-manager-${i}`,
              addresses: {
                advertise: "127.0.0.1",
                api: `127.0.0.1:${apiPort}`,
                raft: `127.0.0.1:${raftPort}`,
              },
              resources: { nanoCpus: 0, memoryBytes: 0 },
              platform: { os: "linux", arch: "amd64" },
              labels: {},
              version: VERSION,
              csrPem: await createCsr({ keyPair, commonName: `sim-manager-${i}` }),
            }),
          ),
        );
      } finally {
        pool.close();
      }
      managers.push(
        await Manager.start({
          ...base(await mk()),
          apiAddr: `127.0.0.1:${apiPort}`,
          raftAddr: `127.0.0.1:${raftPort}`,
          join: { response, keyPem: await exportKeyPem(keyPair.privateKey) },
        }),
      );
      await until(
        () => first.raft.status().config.voters.includes(response.nodeId),
        `manager ${i} promoted to voter`,
      );
    }
  } catch (err) {
    await close();
    throw err;
  }
  const apiAddresses = managers.map((m) => m.apiAddress);
  const client = ref.client = new WarrenClient({ managers: apiAddresses });
  const leader = async () => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const l = managers.find((m) => m.raft.leader.isLeader);
      if (l) return l;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("no leader among the simulated managers within 10 s");
  };
  return {
    managers,
    apiAddresses,
    client,
    leader,
    workerToken: async () => (await client.cluster.joinToken("worker")).token,
    tasksOf: (serviceId) => {
      const l = managers.find((m) => m.raft.leader.isLeader) ?? managers[0]!;
      return [...l.store.state.tasks.values()].filter((t) => t.serviceId === serviceId)
        .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function managerToken(m: Manager): Promise<string> {
  using c = new WarrenClient({ managers: [m.apiAddress] });
  return (await c.cluster.joinToken("manager")).token;
}

/**
 * Writes `count` worker node records through the leader's API context (`node.register`, the
 * command ClusterService.Join commits), `concurrency` at a time; returns their IDs. Much cheaper
 * than `count` Joins (each signs a certificate): for benchmarks whose subject is not joining.
 */
export async function registerNodes(
  leader: Manager,
  count: number,
  o: { namePrefix?: string; resources?: Resources; concurrency?: number } = {},
): Promise<string[]> {
  const ids = Array.from({ length: count }, () => leader.ctx.newId());
  let next = 0;
  await Promise.all(Array.from({ length: o.concurrency ?? 50 }, async () => {
    while (next < count) {
      const i = next++;
      const at = leader.ctx.now();
      await write(leader.ctx, {
        kind: "node.register",
        at,
        node: {
          id: ids[i]!,
          hostname: `${o.namePrefix ?? "sim-"}${i}`,
          role: "worker",
          addresses: { advertise: "127.0.0.1" },
          labels: {},
          resources: o.resources ?? { nanoCpus: 4e9, memoryBytes: 8 * 2 ** 30 },
          platform: { os: "linux", arch: "amd64" },
          availability: "active",
          status: { state: "unknown", message: "registered; no session yet", lastHeartbeatAt: at },
          version: VERSION,
          createdAt: at,
          updatedAt: at,
        },
      });
    }
  }));
  return ids;
}

/** A free TCP port on 127.0.0.1 (bound and released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Polls `cond` every 20 ms until it holds; fails after `timeoutMs` naming `what`. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
