import assert from "node:assert/strict";
import { endpointChain, MAX_CHAIN, MAX_IFNAME, nodeNames, serviceChain } from "./names.ts";

Deno.test("nodeNames: stable per node, distinct across nodes, within kernel limits", () => {
  const a = nodeNames("node-a");
  assert.deepEqual(nodeNames("node-a"), a);
  assert.notEqual(nodeNames("node-b").bridge, a.bridge);
  assert.ok(a.bridge.length <= MAX_IFNAME);
  assert.ok(!a.bridge.startsWith("wrn"), "not the netns fixture's prefix");
  for (const c of [a.forwardChain, a.servicesChain, a.portsChain, a.postroutingChain]) {
    assert.ok(c.length <= MAX_CHAIN, c);
  }
  assert.ok(serviceChain(a.tag, "svc/tcp/80").length <= MAX_CHAIN);
  assert.ok(endpointChain(a.tag, "svc/tcp/80/10.0.0.1").length <= MAX_CHAIN);
  assert.notEqual(serviceChain(a.tag, "x"), serviceChain(a.tag, "y"));
});
