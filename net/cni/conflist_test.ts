import assert from "node:assert/strict";
import { bridgeConflist, chainConfigs, loopbackConfig } from "./conflist.ts";

const list = bridgeConflist({
  name: "warren-1a2b3c4d",
  bridge: "wbr1a2b3c4d",
  subnet: "10.240.3.0/24",
  ipamDataDir: "/var/lib/warren/cni/ipam",
});

Deno.test("conflist: bridge with host-local over the node subnet, gateway .1, no ipMasq", () => {
  const bridge = list.plugins[0]!;
  assert.equal(bridge.type, "bridge");
  assert.equal(bridge.bridge, "wbr1a2b3c4d");
  assert.equal(bridge.isDefaultGateway, true);
  assert.equal(bridge.ipMasq, false);
  assert.equal(bridge.hairpinMode, true);
  assert.deepEqual(bridge.ipam, {
    type: "host-local",
    ranges: [[{ subnet: "10.240.3.0/24", gateway: "10.240.3.1" }]],
    dataDir: "/var/lib/warren/cni/ipam",
  });
  assert.equal(list.plugins[1]!.type, "portmap");
});

Deno.test("chainConfigs: portmap only with mappings, runtimeConfig injected, name/version set", () => {
  const plain = chainConfigs(list);
  assert.deepEqual(plain.map((c) => c.type), ["bridge"]);
  assert.equal(plain[0]!.name, "warren-1a2b3c4d");
  assert.equal(plain[0]!.cniVersion, "1.0.0");
  const mapped = chainConfigs(list, {
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
  });
  assert.deepEqual(mapped.map((c) => c.type), ["bridge", "portmap"]);
  assert.deepEqual(mapped[1]!.runtimeConfig, {
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
  });
  assert.equal(mapped[1]!.capabilities, undefined, "capabilities are list-level only");
});

Deno.test("loopbackConfig names the loopback plugin", () => {
  assert.deepEqual(loopbackConfig(), { cniVersion: "1.0.0", name: "lo", type: "loopback" });
});
