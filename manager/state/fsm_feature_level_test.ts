import assert from "node:assert/strict";
import { applyCommand } from "./fsm.ts";
import { type ClusterState, emptyState, toSnapshot } from "./fsm_state.ts";
import { type ClusterRecord, type Command, encodeCommand } from "./commands.ts";
import { Store } from "./store.ts";
import {
  activeFeatureLevel,
  BINARY_FEATURE_LEVEL,
  clusterSupports,
  FeatureLevelTooHighError,
  levelToRaise,
  requireFeatureLevel,
  UnknownCommandError,
} from "./fsm_feature_level.ts";
import { node, service } from "./_fixtures_test_util.ts";
import { isHaltingError } from "../raft/state_machine.ts";
import { FailedPreconditionError, NotFoundError } from "../../proto/errors.ts";
import type { Node } from "../../proto/schema/mod.ts";

const at = 5000;
const record = (featureLevel?: number): ClusterRecord => ({
  id: "c1",
  name: "c",
  createdAt: at,
  cidrs: { clusterCidr: "10.240.0.0/16", serviceCidr: "10.96.0.0/16", nodeSubnetBits: 24 },
  ...(featureLevel !== undefined ? { featureLevel } : {}),
});
const manager = (id: string, featureLevel?: number): Node => ({
  ...node(id),
  role: "manager",
  ...(featureLevel !== undefined ? { featureLevel } : {}),
});
const raise = (level: number, requestId?: string): Command => ({
  kind: "cluster.featureLevel",
  at,
  level,
  ...(requestId ? { requestId } : {}),
});

/** A cluster at `level` whose managers report `managers` (id → binary level). */
function cluster(level: number | undefined, managers: Record<string, number> = {}): ClusterState {
  const s = emptyState();
  applyCommand(s, { kind: "cluster.init", at, cluster: record(level) }, 9);
  for (const [id, l] of Object.entries(managers)) {
    applyCommand(s, { kind: "node.register", at, node: manager(id, l) }, 9);
  }
  return s;
}

Deno.test("feature level: old entries and records without it are level 1; init sets the binary's", () => {
  assert.equal(activeFeatureLevel(emptyState()), 1);
  assert.equal(activeFeatureLevel(cluster(undefined)), 1, "a cluster.init from before levels");
  assert.equal(activeFeatureLevel(cluster(3)), 3);
  // Today's binary creates, and applies, a cluster at its own level.
  const s = emptyState();
  applyCommand(s, { kind: "cluster.init", at, cluster: record(BINARY_FEATURE_LEVEL) });
  assert.equal(activeFeatureLevel(s), BINARY_FEATURE_LEVEL);
});

Deno.test("feature level: only cluster.featureLevel raises it; it never goes down", () => {
  const s = cluster(1, { m1: 2, m2: 3 });
  // Everything else leaves it alone, the cluster record's other writers too.
  const others: Command[] = [
    { kind: "node.register", at, node: manager("m3", 3) },
    { kind: "service.create", at, service: service("web") },
    { kind: "service.scale", at, id: "web", replicas: 4, keepsPreviousSpec: true },
    { kind: "token.set", at, token: { role: "worker", secretHash: "a".repeat(64), createdAt: at } },
    { kind: "cluster.init", at, cluster: record(undefined) },
  ];
  for (const c of others) applyCommand(s, c, 3);
  assert.equal(activeFeatureLevel(s), 1);
  assert.equal(applyCommand(s, raise(2), 3).result, 2);
  assert.equal(activeFeatureLevel(s), 2);
  assert.equal(s.cluster?.name, "c", "the rest of the record stays");
  assert.equal(applyCommand(s, raise(1), 3).result, 2, "a late, lower raise is a no-op");
  assert.equal(activeFeatureLevel(s), 2);
  assert.ok(clusterSupports(s, 2));
  assert.ok(!clusterSupports(s, 3));
});

Deno.test("feature level: a raise past what a manager's record reports is refused alike everywhere", () => {
  const s = cluster(1, { m1: 2, m2: 1 });
  assert.throws(
    () => applyCommand(s, raise(2), 2),
    (err: unknown) =>
      err instanceof FailedPreconditionError && !isHaltingError(err) &&
      /manager m2 is at level 1/.test(err.message),
  );
  assert.equal(activeFeatureLevel(s), 1);
  // A manager record from before the field counts as level 1.
  const old = cluster(1, { m1: 2 });
  applyCommand(old, { kind: "node.register", at, node: manager("m0") }, 2);
  assert.throws(() => applyCommand(old, raise(2), 2), /manager m0 is at level 1/);
  assert.throws(() => applyCommand(emptyState(), raise(1)), FailedPreconditionError);
});

Deno.test("feature level: applying a level above the binary's halts, changing nothing", () => {
  for (const requestId of [undefined, "req-1"]) {
    const s = cluster(1, { m1: 2, m2: 2 });
    const before = JSON.stringify(toSnapshot(s));
    assert.throws(
      () => applyCommand(s, raise(2, requestId), 1),
      (err: unknown) =>
        err instanceof FeatureLevelTooHighError && isHaltingError(err) &&
        err.binaryLevel === 1 && err.clusterLevel === 2 &&
        /supports feature level 1, but the cluster is at feature level 2/.test(err.message),
    );
    assert.equal(JSON.stringify(toSnapshot(s)), before, "not even the request table");
  }
  // A cluster created by a newer binary halts an older one at its first entry.
  assert.throws(
    () => applyCommand(emptyState(), { kind: "cluster.init", at, cluster: record(2) }, 1),
    FeatureLevelTooHighError,
  );
});

Deno.test("feature level: a command kind this binary does not know halts instead of applying nothing", () => {
  const s = cluster(1);
  const unknown = {
    kind: "service.frobnicate",
    at,
    id: "web",
    requestId: "r",
  } as unknown as Command;
  assert.throws(
    () => applyCommand(s, unknown),
    (err: unknown) =>
      err instanceof UnknownCommandError && isHaltingError(err) &&
      /"service.frobnicate"/.test(err.message),
  );
  assert.equal(s.requests.size, 0);
});

Deno.test("feature level: a registration without a level keeps the one the manager reported", () => {
  const s = cluster(1, { m1: 2 });
  const { featureLevel: _, ...session } = manager("m1");
  applyCommand(s, { kind: "node.register", at, node: { ...session, hostname: "moved" } });
  assert.equal(s.nodes.get("m1")?.featureLevel, 2);
  assert.equal(s.nodes.get("m1")?.hostname, "moved");
  applyCommand(s, { kind: "node.register", at, node: manager("m1", 3) }, 3);
  assert.equal(s.nodes.get("m1")?.featureLevel, 3, "a restarted manager reports its new binary");
});

Deno.test("feature level: snapshots keep it; old ones load as 1; one above the binary halts the restore", () => {
  const initAt = (level?: number) =>
    encodeCommand({ kind: "cluster.init", at, cluster: record(level) });
  const newer = new Store({ featureLevel: 2 });
  newer.apply(initAt(1), 2);
  newer.apply(encodeCommand({ kind: "node.register", at, node: manager("m1", 2) }), 3);
  newer.apply(encodeCommand(raise(2)), 4);
  const snap = newer.snapshot();

  const copy = new Store({ featureLevel: 2 });
  copy.restore(snap, 4);
  assert.equal(activeFeatureLevel(copy.state), 2);

  // A snapshot from before the field: the cluster record has none.
  const old = JSON.parse(new TextDecoder().decode(snap));
  delete old.cluster.featureLevel;
  const fromOld = new Store({ featureLevel: 1 });
  fromOld.restore(new TextEncoder().encode(JSON.stringify(old)), 4);
  assert.equal(activeFeatureLevel(fromOld.state), 1);

  // An older binary refuses it and keeps what it had.
  const older = new Store({ featureLevel: 1 });
  older.apply(initAt(undefined), 2);
  assert.throws(
    () => older.restore(snap, 4),
    (err: unknown) =>
      err instanceof FeatureLevelTooHighError && isHaltingError(err) &&
      /supports feature level 1, but its snapshot of the cluster is at feature level 2/.test(
        err.message,
      ),
  );
  assert.equal(older.index, 2);
  assert.equal(older.state.nodes.size, 0);
  // And the entry that raised the level halts it as well.
  older.apply(encodeCommand({ kind: "node.register", at, node: manager("m1", 2) }), 3);
  assert.throws(() => older.apply(encodeCommand(raise(2)), 4), FeatureLevelTooHighError);
  assert.equal(activeFeatureLevel(older.state), 1);
  assert.equal(older.index, 3, "the state is as of the entry before the one it halted on");
  // A refusal, unlike a halt, is applied as nothing: the index moves past it.
  assert.throws(
    () => older.apply(encodeCommand({ kind: "service.delete", at, id: "none" }), 5),
    NotFoundError,
  );
  assert.equal(older.index, 5);
});

Deno.test("feature level: the leader raises to the lowest level every member reports, up to its own", () => {
  const s = cluster(1, { m1: 3, m2: 2, m3: 2 });
  assert.equal(levelToRaise(s, ["m1", "m2", "m3"], 3), 2);
  assert.equal(levelToRaise(cluster(1, { m1: 3 }), ["m1"], 3), 3);
  assert.equal(levelToRaise(cluster(1, { m1: 3 }), ["m1"], 2), 2, "never past the leader's own");
  assert.equal(levelToRaise(s, ["m1", "m4"], 3), undefined, "a member without a record holds it");
  const old = cluster(1, { m1: 2 });
  applyCommand(old, { kind: "node.register", at, node: manager("m0") }, 2);
  assert.equal(levelToRaise(old, ["m1", "m0"], 2), undefined, "no level reported: 1");
  applyCommand(s, raise(2), 3);
  assert.equal(levelToRaise(s, ["m1", "m2", "m3"], 3), undefined, "at it already");
  assert.equal(levelToRaise(emptyState(), [], 3), undefined, "no cluster yet");
});

Deno.test("feature level: the leader proposes no raise the FSM would refuse (a manager record outside the configuration is behind)", () => {
  // m3 is recorded as a manager but is not in the Raft configuration (its join failed after it
  // was recorded, or it is not removed yet); the FSM counts every manager record.
  const s = cluster(1, { m1: 2, m2: 2, m3: 1 });
  const level = levelToRaise(s, ["m1", "m2"], 2);
  if (level !== undefined) {
    // What the leader would propose must apply: refused, it would be proposed again forever.
    assert.doesNotThrow(() => applyCommand(s, raise(level), 2));
  }
  assert.equal(level, undefined);
  assert.equal(levelToRaise(cluster(1, { m1: 3, m2: 3, m3: 2 }), ["m1", "m2"], 3), 2);
});

Deno.test("feature level: a feature of a level not active yet is refused naming the level and who is behind", () => {
  const s = cluster(1, { m1: 2, m2: 1 });
  assert.doesNotThrow(() => requireFeatureLevel(s, 1, "canary updates"));
  assert.throws(
    () => requireFeatureLevel(s, 2, "canary updates"),
    (err: unknown) =>
      err instanceof FailedPreconditionError &&
      err.message ===
        'canary updates needs cluster feature level 2; the cluster is at level 1: manager "host-m2" (m2) at level 1 runs an older Warren: upgrade it first',
  );
  assert.throws(
    () => requireFeatureLevel(s, 2, "x", ["m1", "m9"]),
    /manager m9 at level unknown runs an older Warren/,
  );
  const ready = cluster(1, { m1: 2, m2: 2 });
  assert.throws(() => requireFeatureLevel(ready, 2, "x"), /the leader raises the level shortly/);
});
