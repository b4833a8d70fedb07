import assert from "node:assert/strict";
import { formatConstraint, parseConstraint, parseSpread } from "./constraint.ts";

Deno.test("parseConstraint parses Swarm constraint syntax", () => {
  assert.deepEqual(parseConstraint("node.labels.zone==edge"), {
    attribute: "node.labels",
    label: "zone",
    operator: "==",
    value: "edge",
  });
  assert.deepEqual(parseConstraint(" node.role != manager "), {
    attribute: "node.role",
    operator: "!=",
    value: "manager",
  });
  assert.deepEqual(parseConstraint("node.platform.arch==arm64"), {
    attribute: "node.platform.arch",
    operator: "==",
    value: "arm64",
  });
  assert.deepEqual(parseConstraint("node.labels.com.example/tier==db"), {
    attribute: "node.labels",
    label: "com.example/tier",
    operator: "==",
    value: "db",
  });
});

Deno.test("parseConstraint: attribute names and values in any case, as Swarm takes them", () => {
  assert.deepEqual(parseConstraint("node.role==Manager"), {
    attribute: "node.role",
    operator: "==",
    value: "Manager",
  });
  assert.deepEqual(parseConstraint("Node.Hostname!=edge-1"), {
    attribute: "node.hostname",
    operator: "!=",
    value: "edge-1",
  });
  assert.deepEqual(parseConstraint("NODE.LABELS.Zone==b"), {
    attribute: "node.labels",
    label: "Zone",
    operator: "==",
    value: "b",
  });
});

Deno.test("parseConstraint rejects malformed constraints", () => {
  const bad: [string, RegExp][] = [
    ["node.role=manager", /must look like/],
    ["node.role", /must look like/],
    ["==x", /must look like/],
    ["node.role==", /malformed value/],
    ["node.labels.==x", /malformed label key/],
    ["node.labels.zone==a b", /malformed value/],
    ["engine.labels.x==y", /unknown attribute/],
    ["node.role==admin", /manager or worker/],
  ];
  for (const [text, reason] of bad) {
    const r = parseConstraint(text);
    assert.equal(typeof r, "string", text);
    assert.match(r as string, reason, text);
  }
});

Deno.test("formatConstraint is canonical; parseSpread takes node.labels.KEY", () => {
  const c = parseConstraint(" node.labels.zone  ==  edge ");
  assert.ok(typeof c !== "string");
  assert.equal(formatConstraint(c), "node.labels.zone==edge");
  assert.deepEqual(parseSpread("node.labels.rack"), { label: "rack" });
  assert.match(parseSpread("node.role") as string, /node\.labels\.KEY/);
});
