import assert from "node:assert/strict";
import {
  CPU,
  ctxWith,
  GiB,
  infoOf,
  MiB,
  node,
  request,
  service,
  task,
} from "../_harness_test_util.ts";
import { resourcesFilter } from "./resources.ts";

const web = service("web");
const ctx = ctxWith();

Deno.test("resources: capacity minus reservations of tasks already there", () => {
  const big = service("big", { nanoCpus: 2 * CPU, memoryBytes: 2 * GiB });
  const r = request(big);
  const n = node("a", { nanoCpus: 4 * CPU, memoryBytes: 4 * GiB });
  assert.equal(resourcesFilter.check(infoOf(n), r, ctx), "ok");
  assert.equal(resourcesFilter.check(infoOf(n, [task("t1", big, "a")]), r, ctx), "ok");
  assert.deepEqual(
    resourcesFilter.check(infoOf(n, [task("t1", big, "a"), task("t2", big, "a")]), r, ctx),
    { reason: "lacks 2 CPUs and 2 GiB memory" },
  );
  const memOnly = service("m", { memoryBytes: 512 * MiB });
  assert.deepEqual(
    resourcesFilter.check(infoOf(node("s", { memoryBytes: 256 * MiB })), request(memOnly), ctx),
    { reason: "lacks 512 MiB memory" },
  );
  const cpuOnly = service("c", { nanoCpus: CPU / 2 });
  assert.deepEqual(
    resourcesFilter.check(infoOf(node("s", { nanoCpus: CPU / 4 })), request(cpuOnly), ctx),
    { reason: "lacks 0.5 CPUs" },
  );
  // No reservation: fits even on a node that reports no capacity.
  assert.equal(
    resourcesFilter.check(infoOf(node("z", { nanoCpus: 0, memoryBytes: 0 })), request(web), ctx),
    "ok",
  );
});
