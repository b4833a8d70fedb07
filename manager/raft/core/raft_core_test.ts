import assert from "node:assert/strict";
import { encodeConfChange } from "./codec.ts";
import { MemoryStorage } from "./memory_storage.ts";
import type { Message, MsgSnap } from "./messages.ts";
import { xoshiro128 } from "./prng.ts";
import { RaftCore } from "./raft_core.ts";
import type { Ready } from "./ready.ts";
import { Env } from "./transcript/env.ts";

const enc = new TextEncoder();

function bootstrapped(voters: string[], index = 1): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot({
    meta: { index, term: 1, confState: { voters, learners: [] } },
    data: new Uint8Array(),
  });
  return s;
}

/** Handles every Ready of a single node the way a shell must; returns them. */
function drain(core: RaftCore, storage: MemoryStorage): Ready[] {
  const out: Ready[] = [];
  while (core.hasReady()) {
    const rd = core.ready();
    if (rd.snapshot) storage.applySnapshot(rd.snapshot);
    storage.append(rd.entries);
    if (rd.hardState) storage.setHardState(rd.hardState);
    core.advance(rd);
    out.push(rd);
  }
  return out;
}

Deno.test("single voter: campaign wins at once and proposals commit", () => {
  const storage = bootstrapped(["a"]);
  const core = new RaftCore({ id: "a" }, storage);
  core.campaign();
  drain(core, storage);
  assert.equal(core.status().role, "leader");
  core.propose(enc.encode("x"));
  const committed = drain(core, storage).flatMap((rd) => rd.committedEntries);
  assert.deepEqual(committed.map((e) => new TextDecoder().decode(e.data)), ["x"]);
  core.readIndex("r");
  const rs = drain(core, storage).flatMap((rd) => rd.readStates);
  assert.deepEqual(rs, [{ index: 3, context: "r" }]);
});

Deno.test("proposals without a leader are dropped with a typed error; network proposals silently", () => {
  const storage = bootstrapped(["a", "b", "c"]);
  const core = new RaftCore({ id: "a" }, storage);
  assert.throws(() => core.propose(enc.encode("x")), {
    name: "ProposalDroppedError",
    code: "unavailable",
  });
  assert.throws(() => core.readIndex("r"), { name: "ProposalDroppedError" });
  core.step({
    type: "MsgProp",
    from: "b",
    to: "a",
    term: 0,
    entries: [{ index: 0, term: 0, type: "normal", data: new Uint8Array() }],
  });
  assert.throws(() => core.step({ type: "MsgUnreachable", from: "b", to: "a", term: 0 }), {
    name: "ValidationError",
  });
  assert.throws(() => new RaftCore({ id: "a", electionTicks: 1 }, storage), {
    name: "ValidationError",
  });
});

Deno.test("the leader drops proposals forwarded by a node outside its configuration (thesis §4.2.3)", () => {
  // A removed manager keeps running with a certificate the Raft transport still accepts; what it
  // proposes must not reach the log it no longer belongs to.
  const storage = bootstrapped(["a"]);
  const core = new RaftCore({ id: "a" }, storage);
  core.campaign();
  drain(core, storage);
  const forwarded = (from: string, data: string): Message => ({
    type: "MsgProp",
    from,
    to: "a",
    term: 0, // forwarded requests keep term 0
    entries: [{ index: 0, term: 0, type: "normal", data: enc.encode(data) }],
  });
  core.step(forwarded("gone", "from a non-member"));
  assert.deepEqual(drain(core, storage).flatMap((rd) => rd.entries), []);
  core.proposeConfChange({ type: "addLearner", nodeId: "l", context: new Uint8Array() });
  drain(core, storage);
  core.step(forwarded("l", "from a learner"));
  const appended = drain(core, storage).flatMap((rd) => rd.entries);
  assert.deepEqual(appended.map((e) => new TextDecoder().decode(e.data)), ["from a learner"]);
});

Deno.test("the uncommitted-bytes bound refuses proposals until entries commit", () => {
  const storage = bootstrapped(["a", "b", "c"]);
  const core = new RaftCore({ id: "a", maxUncommittedEntriesBytes: 100 }, storage);
  // Win an election by hand.
  core.campaign();
  drain(core, storage);
  for (const type of ["MsgPreVoteResp", "MsgVoteResp"] as const) {
    core.step({ type, from: "b", to: "a", term: 1, reject: false });
    drain(core, storage);
  }
  assert.equal(core.status().role, "leader");
  core.propose(new Uint8Array(60));
  assert.throws(() => core.propose(new Uint8Array(60)), /too many uncommitted/);
});

Deno.test("proposeMany: one append, one MsgApp per follower carrying the batch in order", () => {
  const env = new Env();
  for (const id of ["1", "2", "3"]) env.addNode({ id }, bootstrapped(["1", "2", "3"]));
  env.node("1").core.campaign();
  env.stabilize();
  const leader = env.node("1").core;
  leader.proposeMany(["a", "b", "c"].map((d) => enc.encode(d)));
  const rd = leader.ready();
  assert.deepEqual(rd.entries.map((e) => new TextDecoder().decode(e.data)), ["a", "b", "c"]);
  const apps = rd.messages.filter((m) => m.type === "MsgApp");
  assert.equal(apps.length, 2, "one MsgApp per follower for the whole batch");
  for (const m of apps) assert.equal(m.type === "MsgApp" && m.entries.length, 3);
  leader.proposeMany([]); // a no-op
});

Deno.test("proposeMany: all or nothing under the uncommitted-bytes bound", () => {
  const storage = bootstrapped(["a", "b", "c"]);
  const core = new RaftCore({ id: "a", maxUncommittedEntriesBytes: 100 }, storage);
  core.campaign();
  drain(core, storage);
  for (const type of ["MsgPreVoteResp", "MsgVoteResp"] as const) {
    core.step({ type, from: "b", to: "a", term: 1, reject: false });
    drain(core, storage);
  }
  core.propose(new Uint8Array(40));
  const last = core.status().lastIndex;
  assert.throws(
    () => core.proposeMany([new Uint8Array(10), new Uint8Array(60)]),
    /too many uncommitted/,
  );
  assert.equal(core.status().lastIndex, last, "nothing of a refused batch is appended");
  assert.throws(() =>
    new RaftCore({ id: "b" }, bootstrapped(["a", "b"])).proposeMany([
      new Uint8Array(1),
    ]), { name: "ProposalDroppedError" });
});

Deno.test("restart: hard state, log and membership changes after the snapshot are recovered", () => {
  const env = new Env();
  for (const id of ["1", "2", "3"]) env.addNode({ id }, bootstrapped(["1", "2", "3"]));
  env.node("1").core.campaign();
  env.stabilize();
  env.node("1").core.proposeConfChange({
    type: "addLearner",
    nodeId: "4",
    context: new Uint8Array(),
  });
  env.stabilize();
  env.node("1").core.propose(enc.encode("after"));
  env.stabilize();
  const n2 = env.node("2");
  const applied = n2.appliedIndex;
  // Restart 2 with everything applied: the learner added after the snapshot must be known.
  const again = new RaftCore({ id: "2", applied }, n2.storage);
  assert.deepEqual(again.confState(), { voters: ["1", "2", "3"], learners: ["4"] });
  assert.equal(again.status().commit, applied);
  assert.equal(again.status().term, 1);
  // Restart with nothing applied: committed entries are handed out again, conf change included.
  const fresh = new RaftCore({ id: "2" }, n2.storage);
  assert.deepEqual(fresh.confState(), { voters: ["1", "2", "3"], learners: [] });
  const rd = fresh.ready();
  assert.deepEqual(rd.committedEntries.map((e) => e.type), ["normal", "confChange", "normal"]);
  fresh.advance(rd);
  assert.deepEqual(fresh.confState().learners, ["4"]);
});

Deno.test("restart: changes the snapshot covers are not replayed over its configuration (thesis §4)", () => {
  // A persistent store keeps a tail of entries below its latest snapshot (KvStorage compacts to
  // snapshot - keepEntriesAfterSnapshot), so the log holds changes the snapshot's ConfState already
  // includes. Replaying them over it is not idempotent: a change ignored when it applied (here,
  // demoting the only voter) takes effect against the later configuration.
  const storage = bootstrapped(["a"]);
  const cc = (type: "addLearner" | "addNode", nodeId: string) => ({
    index: 0,
    term: 1,
    type: "confChange" as const,
    data: encodeConfChange({ type, nodeId, context: new Uint8Array() }),
  });
  storage.append([{ ...cc("addLearner", "a"), index: 2 }, { ...cc("addNode", "b"), index: 3 }]);
  storage.setHardState({ term: 1, vote: "a", commit: 3 });
  const before = new RaftCore({ id: "a", applied: 1 }, storage);
  drain(before, storage);
  assert.deepEqual(before.confState(), { voters: ["a", "b"], learners: [] });
  storage.createSnapshot(3, before.confState(), new Uint8Array());
  assert.equal(storage.firstIndex(), 2, "the entries below the snapshot are kept");

  const after = new RaftCore({ id: "a", applied: 3 }, storage);
  assert.deepEqual(after.confState(), before.confState());
});

Deno.test("snapshot chunks out of order make the follower ask for the offset it expects", () => {
  const storage = new MemoryStorage();
  const f = new RaftCore({ id: "b" }, storage);
  const meta = { index: 20, term: 2, confState: { voters: ["a", "b"], learners: [] } };
  const data = enc.encode("0123456789");
  const chunk = (offset: number, len: number): MsgSnap => ({
    type: "MsgSnap",
    from: "a",
    to: "b",
    term: 2,
    meta,
    offset,
    totalBytes: data.length,
    data: data.subarray(offset, offset + len),
    done: offset + len === data.length,
  });
  f.step(chunk(0, 4));
  f.step(chunk(8, 2)); // 4..8 lost
  let msgs: Message[] = drain(f, storage).flatMap((rd) => rd.messages);
  assert.deepEqual(msgs.map((m) => m.type === "MsgSnapAck" ? [m.offset, m.reject] : m.type), [[
    4,
    false,
  ], [4, true]]);
  f.step(chunk(4, 4));
  f.step(chunk(8, 2));
  const rds = drain(f, storage);
  msgs = rds.flatMap((rd) => rd.messages);
  assert.deepEqual(msgs.map((m) => m.type), ["MsgSnapAck", "MsgAppResp"]);
  const snap = rds.find((rd) => rd.snapshot)?.snapshot;
  assert.equal(new TextDecoder().decode(snap?.data), "0123456789");
  assert.equal(storage.lastIndex(), 20);
  assert.deepEqual(f.confState().voters, ["a", "b"]);
});

Deno.test("leader rewinds a snapshot transfer when the follower rejects a chunk", () => {
  const env = new Env();
  for (const id of ["1", "2", "3"]) {
    env.addNode({ id, snapshotChunkBytes: 2 }, bootstrapped(["1", "2", "3"]));
  }
  env.node("1").core.campaign();
  env.stabilize();
  env.partition.set("3", 1);
  for (const d of ["aaaa", "bbbb", "cccc"]) env.node("1").core.propose(enc.encode(d));
  env.stabilize();
  const n1 = env.node("1");
  n1.storage.createSnapshot(
    n1.appliedIndex,
    n1.confStateAt(n1.appliedIndex),
    n1.snapshotData(n1.appliedIndex),
  );
  n1.storage.compact(n1.appliedIndex);
  env.partition.clear();
  // Lose a third of the chunks on the way to 3; the transfer must still complete.
  const rand = xoshiro128(7);
  for (let round = 0; round < 200 && env.node("3").appliedIndex < n1.appliedIndex; round++) {
    for (const id of env.ids()) env.processReady(id);
    env.inFlight = env.inFlight.filter((m) => m.type !== "MsgSnap" || rand() > 0.33);
    for (const id of env.recipients()) env.deliver(id);
    if (round % 3 === 0) n1.core.tick();
  }
  env.takeOutput();
  assert.deepEqual(env.node("3").app.applied.map(([, d]) => d), ["aaaa", "bbbb", "cccc"]);
});
