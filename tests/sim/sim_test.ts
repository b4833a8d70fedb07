/**
 * The simulator as a unit test: a few seeds must pass and replay identically, and planted bugs
 * (a shell that sends before persisting, a node that forgets its vote, a disk that loses synced
 * writes, stale reads) must be caught, which proves the checkers can fail.
 * @module
 */
import assert from "node:assert/strict";
import type { SimOptions } from "./params.ts";
import { runSimulation, SimFailure } from "./simulator.ts";

/** Runs seeds from `first` until one fails; returns the failure (or undefined). */
function firstFailure(opts: Omit<SimOptions, "seed">, first: number, count: number) {
  for (let seed = first; seed < first + count; seed++) {
    try {
      runSimulation({ ...opts, seed });
    } catch (err) {
      if (err instanceof SimFailure) return err;
      throw err;
    }
  }
  return undefined;
}

Deno.test("sim: 20 seeds (3 and 5 nodes) pass every check", () => {
  for (let seed = 1; seed <= 20; seed++) {
    try {
      const s = runSimulation({ seed, nodes: seed % 2 === 0 ? 3 : 5, steps: 800 });
      assert.ok(s.leaderTerms > 0 && s.committed > 1, `seed ${seed} made no progress`);
    } catch (err) {
      if (err instanceof SimFailure) {
        assert.fail(`${err.message}\n  replay: deno task sim --seed ${seed} -v`);
      }
      throw err;
    }
  }
});

Deno.test("sim: seeds that once failed pass (regressions)", () => {
  // 422278016: a follower that already had everything a snapshot covered kept answering its
  // first chunk with its commit index, which the leader ignored (match did not move): the
  // leader resent that snapshot forever while the entries after it were compacted.
  // 207959820: without pre-vote, the two members behind kept winning the election timeouts
  // after the faults healed, and a leader came only after ~360 steps; the probe write had been
  // given up on after 160 and was never asked again, so no probe committed in the quiet phase.
  for (const seed of [422278016, 207959820]) {
    try {
      runSimulation({ seed });
    } catch (err) {
      if (err instanceof SimFailure) {
        assert.fail(`${err.message}\n  replay: deno task sim --seed ${seed} -v`);
      }
      throw err;
    }
  }
});

Deno.test("sim: a seed replays identically, and another seed differs", () => {
  const a = runSimulation({ seed: 7, steps: 600 });
  const b = runSimulation({ seed: 7, steps: 600 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(runSimulation({ seed: 8, steps: 600 }), a);
});

Deno.test("sim: a failure carries the seed, the step and the trace when verbose", () => {
  const f = firstFailure(
    { verbose: true, traceLines: 20, bugs: { sendBeforePersist: true } },
    1,
    1,
  );
  assert.ok(f);
  assert.equal(f.seed, 1);
  assert.ok(f.step >= 0);
  assert.match(f.message, /^seed 1 step \d+: /);
  assert.equal(f.trace.length, 20);
});

Deno.test("planted bug: sending a Ready's messages before persisting it breaks durability", () => {
  const f = firstFailure({ bugs: { sendBeforePersist: true }, steps: 300 }, 1, 3);
  assert.equal(f?.check, "durability");
  assert.match(f.message, /sent Msg\w+ of term \d+ .* while its disk holds term \d+/);
});

Deno.test("planted bug: a node that forgets its vote lets two leaders win one term", () => {
  const f = firstFailure(
    {
      bugs: { forgetVote: true },
      nodes: 5,
      steps: 600,
      adjust: (p) => {
        p.raft.preVote = false;
      },
    },
    1,
    20,
  );
  assert.equal(f?.check, "election safety");
  assert.match(f.message, /two leaders in term \d+/);
});

Deno.test("planted bug: reads served from local state are not linearizable", () => {
  const f = firstFailure({ bugs: { staleReads: true }, steps: 600 }, 1, 20);
  assert.equal(f?.check, "linearizability");
});

Deno.test("planted bug: a disk losing synced writes is caught (leader completeness among others)", () => {
  const safety = new Set([
    "election safety",
    "leader completeness",
    "log matching",
    "committed entries never change",
    "state machine safety",
    "linearizability",
  ]);
  const checks: string[] = [];
  for (let seed = 1; seed <= 20 && !checks.some((c) => safety.has(c)); seed++) {
    const f = firstFailure(
      {
        bugs: { loseSyncedWrites: true },
        nodes: 3,
        steps: 600,
        adjust: (p) => {
          p.faults.crashRate = 0.02;
          p.faults.maxDowntimeSteps = 5;
        },
      },
      seed,
      1,
    );
    if (f) checks.push(f.check);
  }
  // Every seed fails; the core's own invariants catch some first ("exception").
  assert.ok(checks.length > 0);
  assert.ok(checks.some((c) => safety.has(c)), `only caught by: ${checks.join(", ")}`);
});
