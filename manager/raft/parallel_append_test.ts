/**
 * Randomized check of the leader's parallel append (parallel_append.ts, thesis §10.2.1): three
 * real cores, each driven by a shell shaped like node.ts (one Ready at a time; messages stepped
 * while a write is in flight; writes that take a random number of steps; crashes that lose the
 * write in flight), over a network that reorders and drops. Whenever any node applies an entry,
 * that entry must already be durable on a quorum, and every node applies the same entry at each
 * index. A shell that sends everything before writing (followers acknowledging entries they
 * have not written) must be caught.
 */
import assert from "node:assert/strict";
import { RaftInvariantError } from "./core/_assert.ts";
import { MemoryStorage } from "./core/memory_storage.ts";
import type { Message } from "./core/messages.ts";
import { type Rand, xoshiro128 } from "./core/prng.ts";
import { RaftCore } from "./core/raft_core.ts";
import type { Ready } from "./core/ready.ts";
import type { Entry, HardState } from "./core/types.ts";
import { mayReplicateBeforePersist, splitEarlyMessages } from "./parallel_append.ts";

const IDS = ["a", "b", "c"];
const QUORUM = 2;

type Shell = "parallel" | "serial" | "sendAllEarlyUnsafe";

interface SimNode {
  id: string;
  /** What survives a crash. */
  disk: MemoryStorage;
  core: RaftCore;
  durable: HardState;
  /** The Ready whose write is in flight, and the step it completes at. */
  writing: { rd: Ready; later: Message[]; doneAt: number } | undefined;
  up: boolean;
}

class Violation extends Error {}

function disk(): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot({
    meta: { index: 1, term: 1, confState: { voters: IDS, learners: [] } },
    data: new Uint8Array(),
  });
  return s;
}

function pick<T>(rand: Rand, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)];
}

const totals = { committed: 0, earlyMsgs: 0, parallelReadies: 0 };

function run(seed: number, shell: Shell, steps: number): void {
  const rand = xoshiro128(seed);
  const boot = (id: string, d: MemoryStorage): SimNode => ({
    id,
    disk: d,
    core: new RaftCore(
      {
        id,
        electionTicks: 5,
        heartbeatTicks: 1,
        applied: 1,
        rand: xoshiro128(seed * 7 + id.charCodeAt(0)),
      },
      d,
    ),
    durable: d.initialState().hardState,
    writing: undefined,
    up: true,
  });
  const nodes = new Map(IDS.map((id) => [id, boot(id, disk())]));
  let net: Message[] = [];
  /** index → "term/data" of the entry applied there (by anyone). */
  const applied = new Map<number, string>();
  let proposals = 0;
  let step = 0;

  const send = (ms: Message[]) => {
    for (const m of ms) net.push(m);
  };
  const apply = (n: SimNode, e: Entry) => {
    // The property under test: applying is acting on commitment, which needs a durable quorum.
    let durableOn = 0;
    for (const v of nodes.values()) {
      if (v.disk.lastIndex() >= e.index && v.disk.term(e.index) === e.term) durableOn++;
    }
    if (durableOn < QUORUM) {
      throw new Violation(
        `seed ${seed} (${shell}): ${n.id} applies ${e.index}@${e.term} durable on ${durableOn} node(s)`,
      );
    }
    const key = `${e.term}/${new TextDecoder().decode(e.data)}`;
    const prev = applied.get(e.index);
    if (prev !== undefined && prev !== key) {
      throw new Violation(
        `seed ${seed} (${shell}): index ${e.index} applied as ${prev} and ${key}`,
      );
    }
    applied.set(e.index, key);
    totals.committed++;
  };
  const finishWrite = (n: SimNode) => {
    const w = n.writing!;
    n.writing = undefined;
    if (w.rd.entries.length > 0) n.disk.append(w.rd.entries);
    if (w.rd.hardState) {
      n.disk.setHardState(w.rd.hardState);
      n.durable = w.rd.hardState;
    }
    send(w.later);
    for (const e of w.rd.committedEntries) apply(n, e);
    n.core.advance(w.rd);
  };
  const takeReady = (n: SimNode) => {
    const rd = n.core.ready();
    let later = rd.messages;
    if (shell === "parallel") {
      const { early, afterPersist } = splitEarlyMessages(rd, n.durable);
      if (mayReplicateBeforePersist(rd, n.durable)) totals.parallelReadies++;
      totals.earlyMsgs += early.length;
      send(early);
      later = afterPersist;
    } else if (shell === "sendAllEarlyUnsafe") {
      // Broken on purpose: every node (followers' acknowledgements included) sends first.
      send(rd.messages);
      later = [];
    }
    n.writing = { rd, later, doneAt: step + Math.floor(rand() * 6) };
  };

  for (step = 0; step < steps; step++) {
    const r = rand();
    const n = nodes.get(pick(rand, IDS))!;
    if (!n.up) {
      if (r < 0.05) nodes.set(n.id, boot(n.id, n.disk)); // restart from what is durable
      continue;
    }
    if (r < 0.12) n.core.tick();
    else if (r < 0.25) {
      const k = 1 + Math.floor(rand() * 3);
      try {
        n.core.proposeMany(
          Array.from({ length: k }, () => new TextEncoder().encode(`p${proposals++}`)),
        );
      } catch { /* no leader known: dropped */ }
    } else if (r < 0.5) {
      if (n.writing && n.writing.doneAt <= step) finishWrite(n);
      if (!n.writing && n.core.hasReady()) takeReady(n);
    } else if (r < 0.96) {
      // Deliver one message to this node (the others wait: reordering); lose a few.
      const i = net.findIndex((m) => m.to === n.id);
      if (i < 0) continue;
      const [m] = net.splice(i, 1);
      if (rand() < 0.05) continue;
      n.core.step(m); // stepped even while a write is in flight, as node.ts does
    } else if (r < 0.975) {
      // Crash: the write in flight is lost, messages to it too.
      n.up = false;
      n.writing = undefined;
      net = net.filter((m) => m.to !== n.id);
    }
  }
}

Deno.test("parallel leader append: nothing is applied before a quorum has it durably", () => {
  const before = { ...totals };
  for (let seed = 1; seed <= 150; seed++) run(seed, "parallel", 4000);
  const committed = totals.committed - before.committed;
  assert.ok(committed > 5000, `only ${committed} entries applied over all seeds: too little load`);
  assert.ok(
    totals.parallelReadies - before.parallelReadies > 1000,
    "the parallel path was exercised",
  );
  assert.ok(totals.earlyMsgs - before.earlyMsgs > 1000);
});

Deno.test("parallel leader append: the serial shell passes the same check", () => {
  for (let seed = 1; seed <= 50; seed++) run(seed, "serial", 4000);
});

Deno.test("parallel leader append: the checker catches acknowledgements sent before the write", () => {
  let caught = 0;
  for (let seed = 1; seed <= 50; seed++) {
    try {
      run(seed, "sendAllEarlyUnsafe", 4000);
    } catch (err) {
      // The core's own invariants catch some runs (a commit index past a log a crash shortened).
      if (err instanceof RaftInvariantError) continue;
      if (!(err instanceof Violation)) throw err;
      caught++;
    }
  }
  assert.ok(caught > 0, "acknowledging entries before they are durable must be caught");
});
