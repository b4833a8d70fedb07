import assert from "node:assert/strict";
import { MemoryStorage } from "../../manager/raft/core/memory_storage.ts";
import type { Entry } from "../../manager/raft/core/types.ts";
import { Checkers, CheckFailure } from "./checkers.ts";

const ent = (index: number, term: number, data = `${index}`): Entry => ({
  index,
  term,
  type: "normal",
  data: new TextEncoder().encode(data),
});

function log(entries: Entry[], hardState = { term: 0, vote: "", commit: 0 }): MemoryStorage {
  const s = new MemoryStorage();
  s.append(entries);
  s.setHardState(hardState);
  return s;
}

function throwsCheck(f: () => void, check: string): void {
  assert.throws(f, (err) => err instanceof CheckFailure && err.check === check);
}

Deno.test("checkers: election safety across all time", () => {
  const c = new Checkers();
  c.observeRole("a", 2, "leader");
  c.observeRole("a", 2, "leader");
  c.observeRole("b", 2, "follower");
  c.observeRole("b", 3, "leader");
  throwsCheck(() => c.observeRole("b", 2, "leader"), "election safety");
});

Deno.test("checkers: log matching, incrementally and over whole logs", () => {
  const c = new Checkers();
  const a = log([ent(1, 1), ent(2, 1)]);
  c.afterPersist("a", a, {
    entries: [ent(1, 1), ent(2, 1)],
    snapshot: undefined,
    hardState: undefined,
  });
  const b = log([ent(1, 1), ent(2, 1, "other")]);
  throwsCheck(
    () =>
      c.afterPersist("b", b, {
        entries: [ent(2, 1, "other")],
        snapshot: undefined,
        hardState: undefined,
      }),
    "log matching",
  );
  // Same index and term at 3, different entries below it.
  const x = log([ent(1, 1), ent(2, 1), ent(3, 2)]);
  const y = log([ent(1, 1), ent(2, 2), ent(3, 2)]);
  throwsCheck(() =>
    new Checkers().compareLogs([
      { id: "x", storage: x, version: 1 },
      { id: "y", storage: y, version: 1 },
    ]), "log matching");
  // Diverging tails are fine.
  const z = log([ent(1, 1), ent(2, 1), ent(3, 3)]);
  new Checkers().compareLogs([{ id: "x", storage: x, version: 1 }, {
    id: "z",
    storage: z,
    version: 1,
  }]);
});

Deno.test("checkers: committed entries never change; a new leader holds them all", () => {
  const c = new Checkers();
  const a = log([ent(1, 1), ent(2, 1)]);
  c.afterPersist("a", a, {
    entries: [],
    snapshot: undefined,
    hardState: { term: 1, vote: "a", commit: 2 },
  });
  const b = log([ent(1, 1), ent(2, 2)]);
  throwsCheck(
    () =>
      c.afterPersist("b", b, {
        entries: [],
        snapshot: undefined,
        hardState: { term: 2, vote: "b", commit: 2 },
      }),
    "committed entries never change",
  );
  const d = new Checkers();
  d.afterPersist("a", a, {
    entries: [],
    snapshot: undefined,
    hardState: { term: 1, vote: "a", commit: 2 },
  });
  d.observeRole("c", 3, "leader");
  const short = log([ent(1, 1)]);
  throwsCheck(
    () => d.afterPersist("c", short, { entries: [], snapshot: undefined, hardState: undefined }),
    "leader completeness",
  );
});

Deno.test("checkers: state machine safety compares entries and states per index", () => {
  const c = new Checkers();
  c.afterApply("a", ent(4, 1), "s1");
  c.afterApply("b", ent(4, 1), "s1");
  throwsCheck(() => c.afterApply("c", ent(4, 1), "s2"), "state machine safety");
  throwsCheck(() => c.afterApply("c", ent(4, 2), undefined), "state machine safety");
  assert.ok(c.wantsDigest(8) && !c.wantsDigest(5));
  c.afterRestore("a", 5, "s5");
  assert.ok(c.wantsDigest(5));
});

Deno.test("checkers: commit is monotonic per incarnation and restarts at the durable value", () => {
  const c = new Checkers();
  c.checkProgress("a", { commit: 5, applied: 3 }, 3);
  throwsCheck(() => c.checkProgress("a", { commit: 4, applied: 3 }, 3), "commit monotonic");
  throwsCheck(() => c.checkProgress("b", { commit: 4, applied: 5 }, 4), "applied <= committed");
  c.onRestart("a", 2, 2, 1);
  c.checkProgress("a", { commit: 2, applied: 1 }, 1);
  throwsCheck(() => c.onRestart("a", 1, 2, 0), "commit after restart");
});

Deno.test("checkers: a message may only promise what is on disk", () => {
  const c = new Checkers();
  const disk = log([ent(1, 1), ent(2, 1)], { term: 3, vote: "a", commit: 1 });
  c.checkSend("b", { type: "MsgVoteResp", from: "b", to: "a", term: 3, reject: false }, disk);
  throwsCheck(
    () =>
      c.checkSend("b", { type: "MsgVoteResp", from: "b", to: "c", term: 3, reject: false }, disk),
    "durability",
  );
  throwsCheck(
    () =>
      c.checkSend(
        "b",
        { type: "MsgHeartbeatResp", from: "b", to: "a", term: 4, context: "" },
        disk,
      ),
    "durability",
  );
  const ack = {
    type: "MsgAppResp" as const,
    from: "b",
    to: "a",
    reject: false,
    rejectHint: 0,
    logTerm: 0,
  };
  c.checkSend("b", { ...ack, term: 3, index: 2 }, disk);
  throwsCheck(() => c.checkSend("b", { ...ack, term: 3, index: 3 }, disk), "durability");
  // Pre-votes carry an unpersisted term; acks of an older term may be stale.
  c.checkSend("b", {
    type: "MsgPreVote",
    from: "b",
    to: "a",
    term: 9,
    index: 2,
    logTerm: 1,
    transfer: false,
  }, disk);
  c.checkSend("b", { ...ack, term: 2, index: 7 }, disk);
});
