import assert from "node:assert/strict";
import { ValidationError } from "../../proto/errors.ts";
import { gatewayOf, ipToNumber, netContains, numberToIp, parseNet } from "./ipv4.ts";

Deno.test("ipv4: round trip, membership, gateway", () => {
  assert.equal(numberToIp(ipToNumber("10.240.3.7")), "10.240.3.7");
  const net = parseNet("10.240.3.0/24");
  assert.equal(net.size, 256);
  assert.ok(netContains(net, "10.240.3.255"));
  assert.ok(!netContains(net, "10.240.4.0"));
  assert.equal(gatewayOf("10.240.3.0/24"), "10.240.3.1");
  assert.throws(() => parseNet("10.240.3.1/24", "subnet"), ValidationError);
  assert.throws(() => ipToNumber("10.1.2"), ValidationError);
});
