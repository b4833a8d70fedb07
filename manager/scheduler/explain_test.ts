import assert from "node:assert/strict";
import { explainNoNode, explainOnNode, MAX_REASONS_SHOWN, pluralReason } from "./explain.ts";

Deno.test("explainNoNode counts reasons, most common first, with plural verbs", () => {
  assert.equal(
    explainNoNode(["is drained", "lacks 2 GiB memory", "lacks 2 GiB memory"]),
    "no suitable node (3 nodes: 2 lack 2 GiB memory, 1 is drained)",
  );
  assert.equal(explainNoNode(["is paused"]), "no suitable node (1 node: 1 is paused)");
  assert.equal(explainNoNode([]), "no suitable node (the cluster has no nodes)");
});

Deno.test("explainNoNode orders equal counts by text and summarizes the tail", () => {
  const reasons = ["is b", "is a", ...Array.from({ length: 8 }, (_, i) => `is x${i}`)];
  const text = explainNoNode(reasons);
  assert.match(text, /^no suitable node \(10 nodes: 1 is a, 1 is b, 1 is x0, 1 is x1, 1 is x2/);
  assert.ok(text.endsWith(`, ${10 - MAX_REASONS_SHOWN} for other reasons)`), text);
});

Deno.test("pluralReason changes only a known leading verb", () => {
  assert.equal(pluralReason("is drained"), "are drained");
  assert.equal(pluralReason("has host port 80/tcp in use"), "have host port 80/tcp in use");
  assert.equal(pluralReason("does not satisfy x"), "do not satisfy x");
  assert.equal(pluralReason("lacks 1 CPU"), "lack 1 CPU");
  assert.equal(pluralReason("runs the maximum"), "run the maximum");
  assert.equal(pluralReason("isolated"), "isolated");
});

Deno.test("explainOnNode names the node", () => {
  assert.equal(explainOnNode("worker-1", "is drained"), "node worker-1 is drained");
});
