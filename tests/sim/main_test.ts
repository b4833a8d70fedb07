import assert from "node:assert/strict";
import { parseCli, replayCommand } from "./main.ts";

const defaults = { randomStart: () => 42, cores: 2 };

Deno.test("cli: defaults, seed ranges and a single seed", () => {
  assert.deepEqual(parseCli([], defaults), {
    seeds: 100,
    start: 42,
    single: false,
    nodes: undefined,
    steps: undefined,
    jobs: 2,
    traceLines: 50,
    verbose: false,
  });
  const o = parseCli(["--seeds", "500", "--start", "7", "--nodes", "5", "--jobs", "1"], defaults);
  assert.deepEqual([o.seeds, o.start, o.nodes, o.jobs], [500, 7, 5, 1]);
  const one = parseCli(["--seed", "1234", "-v", "--steps", "300"], defaults);
  assert.deepEqual([one.seeds, one.start, one.single, one.verbose, one.steps], [
    1,
    1234,
    true,
    true,
    300,
  ]);
});

Deno.test("cli: bad options are refused with the option's name", () => {
  assert.throws(() => parseCli(["--nodes", "4"], defaults), /--nodes must be 3 or 5/);
  assert.throws(
    () => parseCli(["--seeds", "x"], defaults),
    /--seeds must be a non-negative integer/,
  );
  assert.throws(() => parseCli(["--bogus"], defaults));
});

Deno.test("cli: the replay command carries the options that change the run", () => {
  assert.equal(
    replayCommand(1234, { nodes: undefined, steps: undefined }),
    "deno task sim --seed 1234 -v",
  );
  assert.equal(
    replayCommand(9, { nodes: 3, steps: 200 }),
    "deno task sim --seed 9 --nodes 3 --steps 200 -v",
  );
});
