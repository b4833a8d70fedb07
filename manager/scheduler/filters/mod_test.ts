import assert from "node:assert/strict";
import { FILTERS, STATIC_FILTERS } from "./mod.ts";
import { pluralReason } from "../explain.ts";

Deno.test("pipeline: static filters come first and every reason pluralizes", () => {
  assert.deepEqual(FILTERS.map((f) => f.name), [
    "node-ready",
    "constraints",
    "platform",
    "volumes",
    "resources",
    "host-ports",
    "max-replicas",
  ]);
  assert.deepEqual(STATIC_FILTERS.map((f) => f.name), ["node-ready", "constraints", "platform"]);
  for (
    const reason of [
      "is drained",
      "does not satisfy node.role==worker",
      "lacks 2 GiB memory",
      "has host port 80/tcp in use",
      "runs the maximum of 2 api tasks per node",
    ]
  ) {
    assert.notEqual(pluralReason(reason), reason, reason);
  }
});
