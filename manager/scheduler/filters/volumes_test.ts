import assert from "node:assert/strict";
import { ctxWith, infoOf, node, request, service } from "../_harness_test_util.ts";
import { volumesFilter } from "./volumes.ts";

Deno.test("volumes: a bound volume pins the task to its node; unbound allows any", () => {
  const db = service("db", { volumes: ["data"] });
  const r = request(db);
  assert.equal(volumesFilter.check(infoOf(node("a")), r, ctxWith()), "ok");
  assert.equal(volumesFilter.check(infoOf(node("a")), r, ctxWith({ data: "a" })), "ok");
  assert.deepEqual(volumesFilter.check(infoOf(node("b")), r, ctxWith({ data: "a" })), {
    reason: "is not a, which holds volume data",
  });
});
