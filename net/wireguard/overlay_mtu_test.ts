import assert from "node:assert/strict";
import { detectOverlayMtu, linkMtuOf, overlayMtuFor } from "./overlay_mtu.ts";
import { DEFAULT_MTU } from "./mesh.ts";

Deno.test("overlayMtuFor: the uplink's MTU less WireGuard's 80 bytes, at most 1420", () => {
  assert.equal(overlayMtuFor(1500), 1420);
  assert.equal(overlayMtuFor(9000), 1420, "jumbo frames: the tasks' 1420 still fits");
  assert.equal(overlayMtuFor(1492), 1412, "PPPoE");
  assert.equal(overlayMtuFor(1280), 1200);
  assert.equal(overlayMtuFor(undefined), DEFAULT_MTU);
  assert.equal(overlayMtuFor(300), 576);
});

Deno.test("linkMtuOf: the MTU of the interface holding the address", () => {
  const json = JSON.stringify([
    { ifname: "lo", mtu: 65536, addr_info: [{ local: "127.0.0.1" }] },
    { ifname: "ppp0", mtu: 1492, addr_info: [{ local: "10.1.2.3" }, { local: "fe80::1" }] },
    { ifname: "eth1", mtu: 1500 },
  ]);
  assert.equal(linkMtuOf(json, "10.1.2.3"), 1492);
  assert.equal(linkMtuOf(json, "fe80::1"), 1492);
  assert.equal(linkMtuOf(json, "192.0.2.9"), undefined, "an address behind NAT");
  assert.equal(linkMtuOf("not json", "10.1.2.3"), undefined);
});

Deno.test("detectOverlayMtu: this host's loopback address gives the loopback's (capped) MTU", async () => {
  assert.equal(await detectOverlayMtu("127.0.0.1"), 1420);
  assert.equal(await detectOverlayMtu("192.0.2.250"), DEFAULT_MTU);
});
