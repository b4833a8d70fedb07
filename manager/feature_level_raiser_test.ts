/**
 * A rolling upgrade of three in-process managers (each binary's feature level injected): the
 * cluster's level rises only once every manager reports the new one; a manager whose binary is
 * below the active level is refused when it joins and halts when it restarts on the cluster's
 * log, with an error naming both levels.
 */
import assert from "node:assert/strict";
import { Manager, type ManagerOptions } from "./manager.ts";
import { getJoinToken, joinCluster } from "./api/membership.ts";
import { clusterInfo } from "./api/cluster.ts";
import { activeFeatureLevel } from "./state/fsm_feature_level.ts";
import { createCsr, exportKeyPem, generateKeyPair } from "./security/mod.ts";
import { FailedPreconditionError } from "../proto/errors.ts";
import type { JoinRequest } from "../proto/schema/mod.ts";
import { VERSION } from "../proto/version.ts";
import { configureLogging } from "../proto/log.ts";

configureLogging({ level: "error" });

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Polls `cond` every 20 ms until it holds; fails after `timeoutMs` naming `what`. */
async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One manager's data directory and ports, kept across restarts with another binary level. */
class Member {
  mgr: Manager | undefined;
  readonly apiPort = freePort();
  readonly raftPort = freePort();
  constructor(readonly name: string, readonly dir: string) {}

  options(featureLevel: number): ManagerOptions {
    return {
      dataDir: this.dir,
      apiAddr: `127.0.0.1:${this.apiPort}`,
      raftAddr: `127.0.0.1:${this.raftPort}`,
      httpAddr: "127.0.0.1:0",
      advertiseAddr: "127.0.0.1",
      insecure: true,
      // Elections after 300-600 ms: a loaded machine's pauses do not move the leader mid-step.
      tickMs: 50,
      featureLevel,
      featureLevelCheckMs: 20,
    };
  }

  joinRequest(token: string, csrPem: string, featureLevel: number): JoinRequest {
    return {
      token,
      hostname: this.name,
      addresses: {
        advertise: "127.0.0.1",
        api: `127.0.0.1:${this.apiPort}`,
        raft: `127.0.0.1:${this.raftPort}`,
      },
      resources: { nanoCpus: 0, memoryBytes: 0 },
      platform: { os: "linux", arch: "amd64" },
      labels: {},
      version: VERSION,
      featureLevel,
      csrPem,
    };
  }

  async stop(): Promise<void> {
    await this.mgr?.stop();
    this.mgr = undefined;
  }
}

function leader(ms: Member[]): Manager {
  const l = ms.find((m) => m.mgr?.raft.leader.isLeader)?.mgr;
  if (!l) throw new Error("no leader among the running managers");
  return l;
}

/**
 * Runs `fn` on the leader; again on the next one when leadership moved meanwhile, but not after
 * an answer such as a refusal.
 */
async function withLeader<T>(ms: Member[], fn: (l: Manager) => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    await until(() => ms.some((m) => m.mgr?.raft.leader.isLeader), "a leader");
    const l = leader(ms);
    try {
      return await fn(l);
    } catch (err) {
      if (l.raft.leader.isLeader || attempt >= 5 || err instanceof FailedPreconditionError) {
        throw err;
      }
    }
  }
}

/** Joins `m` through the leader, as `warren join` does, with a binary of `featureLevel`. */
async function join(ms: Member[], m: Member, featureLevel: number): Promise<void> {
  const keyPair = await generateKeyPair();
  const csrPem = await createCsr({ keyPair, commonName: m.name });
  const response = await withLeader(ms, async (l) => {
    const { token } = await getJoinToken(l.ctx, "manager", false);
    return await joinCluster(l.ctx, m.joinRequest(token, csrPem, featureLevel));
  });
  m.mgr = await Manager.start({
    ...m.options(featureLevel),
    join: { response, keyPem: await exportKeyPem(keyPair.privateKey) },
  });
  await until(
    () => ms.some((x) => x.mgr?.raft.status().config.voters.includes(response.nodeId)),
    `${m.name} promoted to voter`,
  );
}

/** Restarts `m` on its data directory with a binary of `featureLevel`. */
async function restart(ms: Member[], m: Member, featureLevel: number): Promise<void> {
  await m.stop();
  m.mgr = await Manager.start(m.options(featureLevel));
  const id = m.mgr.identity.nodeId;
  // It reports its binary's level when it starts.
  await until(
    () => ms.some((x) => x.mgr?.store.state.nodes.get(id)?.featureLevel === featureLevel),
    `${m.name} reports feature level ${featureLevel}`,
  );
}

const levels = (ms: Member[]) => ms.map((m) => activeFeatureLevel(m.mgr!.store.state));

Deno.test("manager: the cluster's feature level rises only once every manager runs a binary of it", async () => {
  const root = await Deno.makeTempDir({ prefix: "warren-level-" });
  const ms = ["m1", "m2", "m3"].map((n) => new Member(n, `${root}/${n}`));
  const extra = new Member("m4", `${root}/m4`);
  try {
    ms[0].mgr = await Manager.start({ ...ms[0].options(1), init: { clusterName: "level" } });
    await ms[0].mgr.waitForLeader();
    await join(ms, ms[1], 1);
    await join(ms, ms[2], 1);
    await until(
      () => ms.every((x) => x.mgr?.raft.status().config.voters.length === 3),
      "three voters",
    );
    assert.deepEqual(levels(ms), [1, 1, 1]);

    // Upgrade two of three: the third still runs the old binary, so the level stays.
    await restart(ms, ms[1], 2);
    await restart(ms, ms[2], 2);
    // Led by an upgraded manager, which would raise if it did not wait for the old one.
    const upgraded = ms[2].mgr!.identity.nodeId;
    await until(() => {
      const l = ms.find((m) => m.mgr?.raft.leader.isLeader)?.mgr;
      try {
        if (l && l.identity.nodeId !== upgraded) l.raft.transferLeader(upgraded);
      } catch { /* leadership moved meanwhile: the next look asks again */ }
      return ms[2].mgr!.raft.leader.isLeader;
    }, "the upgraded m3 to lead");
    // The leader looks every 20 ms: give it many looks (a non-event has nothing to await).
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(levels(ms), [1, 1, 1]);
    let info = await withLeader(ms, (l) => clusterInfo(l.ctx, false));
    assert.equal(info.featureLevel, 1);
    const byId = new Map(info.managerFeatureLevels.map((m) => [m.nodeId, m.featureLevel]));
    assert.deepEqual(ms.map((m) => byId.get(m.mgr!.identity.nodeId)), [1, 2, 2]);

    // The last one upgraded: every manager applies the raise.
    await restart(ms, ms[0], 2);
    await until(() => levels(ms).every((l) => l === 2), "every manager at feature level 2");
    info = await withLeader(ms, (l) => clusterInfo(l.ctx, false));
    assert.equal(info.featureLevel, 2);
    assert.deepEqual(info.managerFeatureLevels.map((m) => m.featureLevel), [2, 2, 2]);

    // An old binary may not join the upgraded cluster...
    const keyPair = await generateKeyPair();
    const csrPem = await createCsr({ keyPair, commonName: "m4" });
    await withLeader(ms, async (l) => {
      const { token } = await getJoinToken(l.ctx, "manager", false);
      await assert.rejects(
        joinCluster(l.ctx, extra.joinRequest(token, csrPem, 1)),
        (err: unknown) =>
          err instanceof FailedPreconditionError &&
          /joining manager "m4" supports feature level 1, but the cluster is at feature level 2/
            .test(err.message),
      );
    });

    // ... nor a manager go back to one: it halts on the log instead of misreading it.
    await ms[2].stop();
    let downgraded: Manager | undefined;
    const err = await Manager.start(ms[2].options(1)).then(
      (m) => (downgraded = m).failed,
      (e: Error) => e,
    );
    await downgraded?.stop();
    assert.match(
      err.message,
      /this manager's Warren binary supports feature level 1, but the cluster is at feature level 2/,
    );
    // The two others go on.
    await withLeader(ms.slice(0, 2), (l) => clusterInfo(l.ctx, false));

    // A binary that asked to join as level 2 but is not refuses the answer before writing.
    const response = await withLeader(ms, async (l) => {
      const { token } = await getJoinToken(l.ctx, "manager", false);
      return await joinCluster(l.ctx, extra.joinRequest(token, csrPem, 2));
    });
    await assert.rejects(
      Manager.start({
        ...extra.options(1),
        join: { response, keyPem: await exportKeyPem(keyPair.privateKey) },
      }),
      /supports feature level 1, but the cluster it joins is at feature level 2/,
    );
  } finally {
    for (const m of [...ms, extra].reverse()) await m.stop().catch(() => {});
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("manager: a new cluster starts at its binary's level; an older binary then refuses to run it", async () => {
  const m = new Member("solo", await Deno.makeTempDir({ prefix: "warren-level-" }));
  try {
    m.mgr = await Manager.start({ ...m.options(3), init: { clusterName: "level" } });
    await m.mgr.waitForLeader();
    assert.equal((await clusterInfo(m.mgr.ctx, false)).featureLevel, 3);
    await m.stop();
    // Older than the cluster: the very first entry (cluster.init) is above it.
    let older: Manager | undefined;
    const err = await Manager.start(m.options(2)).then(
      (x) => (older = x).failed,
      (e: Error) => e,
    );
    await older?.stop();
    assert.match(err.message, /supports feature level 2, but the cluster is at feature level 3/);
    // The same binary level runs it again.
    m.mgr = await Manager.start(m.options(3));
    await m.mgr.waitForLeader();
    assert.equal((await clusterInfo(m.mgr.ctx, false)).featureLevel, 3);
  } finally {
    await m.stop().catch(() => {});
    await Deno.remove(m.dir, { recursive: true });
  }
});
