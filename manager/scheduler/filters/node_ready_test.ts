import assert from "node:assert/strict";
import { ctxWith, infoOf, node, request, service } from "../_harness_test_util.ts";
import { nodeReadyFilter } from "./node_ready.ts";

const web = service("web");
const ctx = ctxWith();

Deno.test("node-ready: only ready and active nodes take tasks", () => {
  const r = request(web);
  assert.equal(nodeReadyFilter.check(infoOf(node("a")), r, ctx), "ok");
  assert.deepEqual(nodeReadyFilter.check(infoOf(node("a", { availability: "drain" })), r, ctx), {
    reason: "is drained",
  });
  assert.deepEqual(nodeReadyFilter.check(infoOf(node("a", { availability: "pause" })), r, ctx), {
    reason: "is paused",
  });
  assert.deepEqual(nodeReadyFilter.check(infoOf(node("a", { state: "down" })), r, ctx), {
    reason: "is down",
  });
  assert.deepEqual(nodeReadyFilter.check(infoOf(node("a", { state: "disconnected" })), r, ctx), {
    reason: "is disconnected",
  });
  assert.deepEqual(nodeReadyFilter.check(infoOf(node("a", { state: "unknown" })), r, ctx), {
    reason: "is not ready yet",
  });
});
