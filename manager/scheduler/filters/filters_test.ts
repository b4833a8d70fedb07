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
import { constraintsFilter, matchConstraint } from "./constraints.ts";
import { hostPortsFilter } from "./host_ports.ts";
import { maxReplicasFilter } from "./max_replicas.ts";
import { FILTERS, STATIC_FILTERS } from "./mod.ts";
import { nodeReadyFilter } from "./node_ready.ts";
import { platformFilter } from "./platform.ts";
import { resourcesFilter } from "./resources.ts";
import { volumesFilter } from "./volumes.ts";
import { parseConstraint } from "../../../proto/schema/mod.ts";
import { pluralReason } from "../explain.ts";

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

Deno.test("constraints: every attribute with == and !=", () => {
  const n = node("id-1", {
    hostname: "edge-1",
    role: "manager",
    labels: { zone: "eu-1", ssd: "true" },
    os: "linux",
    arch: "arm64",
  });
  const cases: [string, boolean][] = [
    ["node.id==id-1", true],
    ["node.id!=id-1", false],
    ["node.hostname==edge-1", true],
    ["node.hostname==EDGE-1", true], // case-insensitive, as in Swarm
    ["node.hostname!=edge-2", true],
    ["node.role==manager", true],
    ["node.role!=manager", false],
    ["node.role==worker", false],
    ["node.labels.zone==eu-1", true],
    ["node.labels.zone!=eu-1", false],
    ["node.labels.zone==us-1", false],
    ["node.labels.missing==x", false],
    ["node.labels.missing!=x", true], // != matches a node without the label
    ["node.platform.os==linux", true],
    ["node.platform.os!=linux", false],
    ["node.platform.arch==arm64", true],
    ["node.platform.arch==aarch64", true], // alias
    ["node.platform.arch!=amd64", true],
    ["node.platform.arch==x86_64", false],
  ];
  for (const [text, want] of cases) {
    const c = parseConstraint(text);
    assert.ok(typeof c !== "string", text);
    assert.equal(matchConstraint(c, n), want, text);
  }
});

Deno.test("constraints: the rejection names the first violated constraint", () => {
  const svc = service("db", { constraints: ["node.role==worker", "node.labels.ssd==true"] });
  const r = request(svc);
  assert.equal(
    constraintsFilter.check(infoOf(node("a", { labels: { ssd: "true" } })), r, ctx),
    "ok",
  );
  assert.deepEqual(constraintsFilter.check(infoOf(node("a")), r, ctx), {
    reason: "does not satisfy node.labels.ssd==true",
  });
  assert.deepEqual(constraintsFilter.check(infoOf(node("a", { role: "manager" })), r, ctx), {
    reason: "does not satisfy node.role==worker",
  });
});

Deno.test("platform: an amd64-only image never lands on an arm64 node", () => {
  const amd = request(web, ["linux/amd64"]);
  assert.equal(platformFilter.check(infoOf(node("a")), amd, ctx), "ok");
  assert.deepEqual(platformFilter.check(infoOf(node("b", { arch: "arm64" })), amd, ctx), {
    reason: "is linux/arm64; the image supports linux/amd64",
  });
  const multi = request(web, ["linux/amd64", "linux/arm64/v8"]);
  assert.equal(platformFilter.check(infoOf(node("b", { arch: "arm64" })), multi, ctx), "ok");
  assert.equal(platformFilter.check(infoOf(node("b", { arch: "arm64" })), request(web), ctx), "ok");
  assert.equal(
    platformFilter.check(infoOf(node("b", { arch: "arm64" })), request(web, ["aarch64"]), ctx),
    "ok",
  );
  assert.deepEqual(
    platformFilter.check(infoOf(node("w", { os: "windows" })), amd, ctx),
    { reason: "is windows/amd64; the image supports linux/amd64" },
  );
});

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

Deno.test("host ports: the same port/protocol in host mode cannot share a node", () => {
  const a = service("a", { hostPorts: [8080] });
  const b = service("b", { hostPorts: [8080, 9090] });
  const c = service("c", { hostPorts: [9091] });
  const n = infoOf(node("x"), [task("a1", a, "x")]);
  assert.deepEqual(hostPortsFilter.check(n, request(b), ctx), {
    reason: "has host port 8080/tcp in use",
  });
  assert.equal(hostPortsFilter.check(n, request(c), ctx), "ok");
  assert.equal(hostPortsFilter.check(n, request(web), ctx), "ok");
});

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

Deno.test("volumes: a bound volume pins the task to its node; unbound allows any", () => {
  const db = service("db", { volumes: ["data"] });
  const r = request(db);
  assert.equal(volumesFilter.check(infoOf(node("a")), r, ctxWith()), "ok");
  assert.equal(volumesFilter.check(infoOf(node("a")), r, ctxWith({ data: "a" })), "ok");
  assert.deepEqual(volumesFilter.check(infoOf(node("b")), r, ctxWith({ data: "a" })), {
    reason: "is not a, which holds volume data",
  });
});

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
