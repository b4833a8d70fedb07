import assert from "node:assert/strict";
import type { ServicePortPlan } from "./service_plan.ts";
import { removedUdpBackends } from "./udp_flows.ts";

const port = (key: string, protocol: "tcp" | "udp", ips: string[]): ServicePortPlan => ({
  key,
  serviceName: key,
  protocol,
  targetPort: 53,
  ingressPorts: [],
  backends: ips.map((ip) => ({ ip, port: 53 })),
});

Deno.test("removedUdpBackends: UDP task ports that no longer back a service port, once each", () => {
  const prev = [
    port("a/udp/53", "udp", ["10.0.0.2", "10.0.0.3", "10.0.0.4"]),
    port("a/tcp/53", "tcp", ["10.0.0.2", "10.0.0.5"]),
    port("b/udp/514", "udp", ["10.0.0.9"]),
  ];
  const next = [
    port("a/udp/53", "udp", ["10.0.0.3"]),
    port("a/tcp/53", "tcp", []), // TCP removals never flush
  ];
  assert.deepEqual(removedUdpBackends(prev, next), [
    { ip: "10.0.0.2", port: 53 },
    { ip: "10.0.0.4", port: 53 },
    { ip: "10.0.0.9", port: 53 },
  ]);
  assert.deepEqual(removedUdpBackends(next, next), []);
  assert.deepEqual(removedUdpBackends([], prev), []);
});

Deno.test("removedUdpBackends: a task that still serves the same port elsewhere is kept", () => {
  const prev = [port("a/udp/53", "udp", ["10.0.0.2"]), port("b/udp/53", "udp", ["10.0.0.2"])];
  const next = [port("b/udp/53", "udp", ["10.0.0.2"])];
  assert.deepEqual(removedUdpBackends(prev, next), []);
});

Deno.test("removedUdpBackends: a task leaving a VIP (every port) is flushed from every port", () => {
  const vip = (ips: string[]): ServicePortPlan => ({
    key: "a/udp/*",
    serviceName: "a",
    protocol: "udp",
    vip: "10.96.0.1",
    ingressPorts: [],
    backends: ips.map((ip) => ({ ip })),
  });
  assert.deepEqual(removedUdpBackends([vip(["10.0.0.2", "10.0.0.3"])], [vip(["10.0.0.3"])]), [
    { ip: "10.0.0.2" },
  ]);
});
