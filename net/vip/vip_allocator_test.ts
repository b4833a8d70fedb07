import assert from "node:assert/strict";
import { ResourceExhaustedError } from "../../proto/errors.ts";
import { allocateVip, vipCapacity } from "./vip_allocator.ts";

Deno.test("allocateVip: lowest free host address, skipping the network address", () => {
  assert.equal(allocateVip("10.96.0.0/16", new Set(), 'service "web"'), "10.96.0.1");
  assert.equal(
    allocateVip("10.96.0.0/16", new Set(["10.96.0.1", "10.96.0.3"]), 'service "web"'),
    "10.96.0.2",
  );
  assert.equal(allocateVip("10.96.0.0/16", new Set(["10.96.0.1", "10.96.0.2"]), "x"), "10.96.0.3");
});

Deno.test("allocateVip: crosses octets, never hands out the broadcast address", () => {
  const used = new Set<string>();
  for (let i = 1; i <= 254; i++) used.add(`10.96.0.${i}`);
  assert.equal(allocateVip("10.96.0.0/23", used, "x"), "10.96.0.255");
  used.add("10.96.0.255");
  assert.equal(allocateVip("10.96.0.0/23", used, "x"), "10.96.1.0");
  assert.equal(vipCapacity("10.96.0.0/23"), 510);
});

Deno.test("allocateVip: exhaustion is a ResourceExhaustedError naming the service", () => {
  const used = new Set(["10.96.0.1", "10.96.0.2"]);
  assert.throws(
    () => allocateVip("10.96.0.0/30", used, 'service "api"'),
    (e) =>
      e instanceof ResourceExhaustedError && /service "api"/.test(e.message) &&
      /10\.96\.0\.0\/30/.test(e.message),
  );
});
