import assert from "node:assert/strict";
import { Progress } from "./progress.ts";
import type { Snapshot } from "./types.ts";

const snap = (index: number): Snapshot => ({
  meta: { index, term: 1, confState: { voters: ["1"], learners: [] } },
  data: new Uint8Array(3),
});

Deno.test("progress: probe sends one message at a time, replicate pipelines within the window", () => {
  const p = new Progress({ next: 5, maxInflight: 2, isLearner: false });
  assert.equal(p.isPaused(), false);
  p.probeSent = true;
  assert.equal(p.isPaused(), true);
  assert.ok(p.maybeUpdate(4)); // an acknowledgement clears probeSent
  assert.equal(p.isPaused(), false);
  p.becomeReplicate();
  assert.equal(p.next, 5);
  p.optimisticUpdate(6);
  p.inflights.add(6);
  p.optimisticUpdate(8);
  p.inflights.add(8);
  assert.equal(p.next, 9);
  assert.ok(p.isPaused());
  assert.ok(p.maybeUpdate(6));
  p.inflights.freeLE(6);
  assert.equal(p.isPaused(), false);
  assert.equal(p.maybeUpdate(5), false, "stale acknowledgement");
  assert.equal(p.match, 6);
});

Deno.test("progress: maybeDecrTo ignores stale rejections and uses the hint in probe", () => {
  const p = new Progress({ next: 10, maxInflight: 4, isLearner: false });
  assert.equal(p.maybeDecrTo(5, 3), false, "not the index we probed");
  assert.ok(p.maybeDecrTo(9, 3));
  assert.equal(p.next, 4);
  p.match = 3;
  p.becomeReplicate();
  p.optimisticUpdate(20);
  assert.equal(p.maybeDecrTo(2, 0), false, "rejection below match is stale");
  assert.ok(p.maybeDecrTo(15, 0));
  assert.equal(p.next, 4, "replicate falls back to match + 1");
  const q = new Progress({ next: 2, maxInflight: 4, isLearner: false });
  assert.ok(q.maybeDecrTo(1, 0));
  assert.equal(q.next, 1, "next never drops below 1");
});

Deno.test("progress: snapshot state pauses, and probing resumes after the snapshot", () => {
  const p = new Progress({ next: 3, maxInflight: 4, isLearner: false });
  p.match = 2;
  p.becomeSnapshot(snap(10));
  assert.equal(p.state, "snapshot");
  assert.ok(p.isPaused());
  assert.equal(p.pendingSnapshot, 10);
  assert.ok(p.transfer);
  p.becomeProbe();
  assert.equal(p.next, 11, "probe after the snapshot");
  assert.equal(p.transfer, undefined);
});
