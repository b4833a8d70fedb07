import assert from "node:assert/strict";
import { ctxWith, infoOf, node, request, service } from "../_harness_test_util.ts";
import { constraintsFilter, matchConstraint } from "./constraints.ts";
import { parseConstraint } from "../../../proto/schema/mod.ts";

const ctx = ctxWith();

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
