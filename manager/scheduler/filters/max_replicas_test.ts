import assert from "node:assert/strict";
import { ctxWith, infoOf, node, request, service, task } from "../_harness_test_util.ts";
import { maxReplicasFilter } from "./max_replicas.ts";

const web = service("web");
const ctx = ctxWith();

Deno.test("max replicas per node counts the service's tasks on the node", () => {
  const svc = service("api", { maxReplicasPerNode: 2 });
  const r = request(svc);
  assert.equal(maxReplicasFilter.check(infoOf(node("x"), [task("1", svc, "x")]), r, ctx), "ok");
  assert.deepEqual(
    maxReplicasFilter.check(infoOf(node("x"), [task("1", svc, "x"), task("2", svc, "x")]), r, ctx),
    { reason: "runs the maximum of 2 api tasks per node" },
  );
  const one = service("one", { maxReplicasPerNode: 1 });
  assert.deepEqual(
    maxReplicasFilter.check(infoOf(node("x"), [task("1", one, "x")]), request(one), ctx),
    { reason: "runs the maximum of 1 one task per node" },
  );
  // Other services' tasks do not count; 0 means unlimited.
  assert.equal(maxReplicasFilter.check(infoOf(node("x"), [task("9", web, "x")]), r, ctx), "ok");
  assert.equal(
    maxReplicasFilter.check(infoOf(node("x"), [task("1", web, "x")]), request(web), ctx),
    "ok",
  );
});
