/**
 * A cluster of Raft test members as OS processes on loopback, each with a Deno KV data dir under
 * one temporary root: formed the way managers join (bootstrap one, add learners, promote), with
 * kill -9 / restart and polling helpers. Disposing kills every process and removes the root.
 * @module
 */
import { join } from "node:path";
import type { MemberStatus } from "./api.ts";
import { MemberProcess, type MemberSpec } from "./process.ts";
import {
  createCsr,
  createRootCa,
  exportKeyPem,
  generateKeyPair,
  signCsr,
} from "../../manager/security/ca.ts";

/** The cluster id main.ts uses; the CA's O, hence every member certificate's. */
const CLUSTER_ID = "raft-member-test";

/** A CA and one manager certificate per member, as PEM files in each member's `tlsDir`. */
async function writeMemberCertificates(specs: Iterable<MemberSpec>): Promise<void> {
  const now = Date.now();
  const ca = await createRootCa({ clusterId: CLUSTER_ID, lifetimeMs: 86_400_000, now });
  for (const spec of specs) {
    if (!spec.tlsDir) continue;
    const keyPair = await generateKeyPair();
    const certPem = await signCsr({
      ca,
      csrPem: await createCsr({ keyPair }),
      nodeId: spec.id,
      role: "manager",
      lifetimeMs: 86_400_000,
      sans: ["127.0.0.1"],
      now,
    });
    await Deno.mkdir(spec.tlsDir, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(join(spec.tlsDir, "ca.pem"), ca.certPem);
    await Deno.writeTextFile(join(spec.tlsDir, "cert.pem"), certPem);
    await Deno.writeTextFile(join(spec.tlsDir, "key.pem"), await exportKeyPem(keyPair.privateKey), {
      mode: 0o600,
    });
  }
}

/** Settings every member of a cluster shares. */
export interface ClusterOptions {
  tickMs?: number;
  electionTicks?: number;
  snapshotEveryEntries?: number;
  requestTimeoutMs?: number;
  /** Extra `deno run` flags per member id (e.g. an inspector port to profile one). */
  denoFlags?: Record<string, string[]>;
  /**
   * Raft over mutual TLS (a cluster CA and a manager certificate per member), as managers run
   * it. Default: the environment variable `WARREN_RAFT_MEMBER_TLS=1`, else plain TCP (the raft
   * bench passes its own choice: TLS unless `WARREN_RAFT_MEMBER_TLS=0`).
   */
  tls?: boolean;
}

/**
 * Resolves with the first defined result of `probe`, trying every `intervalMs` until
 * `timeoutMs` passes (then throws naming `what`). For conditions in other processes.
 */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = performance.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}

/** Raft members as processes. */
export class ProcessCluster implements AsyncDisposable {
  readonly root: string;
  readonly specs = new Map<string, MemberSpec>();
  readonly running = new Map<string, MemberProcess>();

  private constructor(root: string, ids: string[], opts: ClusterOptions) {
    this.root = root;
    const { denoFlags, tls, ...shared } = opts;
    for (const id of ids) {
      this.specs.set(id, {
        id,
        dataDir: join(root, id),
        raftPort: 0,
        clientPort: 0,
        denoFlags: denoFlags?.[id],
        tlsDir: tls ? join(root, `${id}.tls`) : undefined,
        ...shared,
      });
    }
  }

  /** Makes the temporary root (and with `tls`, the CA and certificates); no process starts yet. */
  static async create(ids: string[], opts: ClusterOptions = {}): Promise<ProcessCluster> {
    const root = await Deno.makeTempDir({ prefix: "warren-raft-procs-" });
    const tls = opts.tls ?? Deno.env.get("WARREN_RAFT_MEMBER_TLS") === "1";
    const cluster = new ProcessCluster(root, ids, { ...opts, tls });
    if (tls) await writeMemberCertificates(cluster.specs.values());
    return cluster;
  }

  /** The running member `id` (throws if it is not running). */
  member(id: string): MemberProcess {
    const m = this.running.get(id);
    if (!m) throw new Error(`member ${id} is not running`);
    return m;
  }

  /**
   * Forms the cluster: bootstraps the first id, then starts each other one, adds it as a learner
   * through the leader, waits until it has applied the leader's commit index, and promotes it.
   */
  async form(): Promise<void> {
    const [first, ...rest] = [...this.specs.keys()];
    await this.start(first, { bootstrap: true });
    await this.leader();
    for (const id of rest) {
      const leader = await this.leader();
      const m = await this.start(id, { peers: { [leader.id]: this.member(leader.id).raftAddr } });
      await this.#ok(this.member(leader.id).client.addLearner(id, m.raftAddr), `add ${id}`);
      const st = await this.#status(leader.id);
      await this.waitApplied(id, st.commit);
      await this.#ok(this.member(leader.id).client.promote(id), `promote ${id}`);
    }
  }

  /** Starts (or restarts, with the same data dir and ports) member `id`. */
  async start(
    id: string,
    opts: { bootstrap?: boolean; peers?: Record<string, string> } = {},
  ): Promise<MemberProcess> {
    const spec = this.specs.get(id);
    if (!spec) throw new Error(`unknown member ${id}`);
    if (this.running.has(id)) throw new Error(`member ${id} is already running`);
    const peers = opts.peers ?? this.#peerAddrs(id);
    const m = await MemberProcess.start(spec, { ...opts, peers });
    this.running.set(id, m);
    return m;
  }

  /** kill -9 of member `id`; resolves once the process is gone. */
  async kill(id: string): Promise<void> {
    const m = this.member(id);
    this.running.delete(id);
    await m.kill("SIGKILL");
  }

  /**
   * The leader that a majority of the running members agree on (polling until one exists). With
   * `excluding`, a leader other than that id (e.g. the one just killed).
   */
  async leader(
    opts: { timeoutMs?: number; excluding?: string } = {},
  ): Promise<MemberStatus> {
    return await pollUntil(
      async () => {
        const sts = await Promise.all(
          [...this.running.values()].map((m) => m.client.status()),
        );
        for (const s of sts) {
          if (!s.ok || !s.value.isLeader || s.value.id === opts.excluding) continue;
          const agree = sts.filter((o) => o.ok && o.value.leader === s.value.id).length;
          if (agree > s.value.voters.length / 2) return s.value;
        }
        return undefined;
      },
      "a leader",
      { timeoutMs: opts.timeoutMs ?? 10_000 },
    );
  }

  /** Waits until member `id` has applied at least `index`. */
  async waitApplied(id: string, index: number, timeoutMs = 15_000): Promise<void> {
    await pollUntil(
      async () => {
        const s = await this.member(id).client.status();
        return s.ok && s.value.applied >= index ? true : undefined;
      },
      `${id} to apply index ${index}`,
      { timeoutMs },
    );
  }

  /** kill -9 of every running member, then removes the data root. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all([...this.running.values()].map((m) => m.kill("SIGKILL")));
    this.running.clear();
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }

  #peerAddrs(id: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const s of this.specs.values()) {
      if (s.id !== id && s.raftPort !== 0) out[s.id] = `127.0.0.1:${s.raftPort}`;
    }
    return out;
  }

  async #status(id: string): Promise<MemberStatus> {
    return await this.#ok(this.member(id).client.status(), `status of ${id}`);
  }

  async #ok<T>(
    p: Promise<{ ok: true; value: T } | { ok: false; status: number; error: string }>,
    what: string,
  ): Promise<T> {
    const r = await p;
    if (!r.ok) throw new Error(`${what} failed (HTTP ${r.status}): ${r.error}`);
    return r.value;
  }
}
