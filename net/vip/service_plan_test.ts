import assert from "node:assert/strict";
import type { ServiceEndpoint } from "../../proto/schema/mod.ts";
import { compareIp, planServices } from "./service_plan.ts";

const web: ServiceEndpoint = {
  serviceId: "s1",
  name: "web",
  vip: "10.96.0.2",
  endpointMode: "vip",
  ports: [
    { protocol: "tcp", target: 80, published: 8080, publishMode: "ingress" },
    { protocol: "tcp", target: 80, published: 8081, publishMode: "ingress" },
    { protocol: "udp", target: 53, published: 5353, publishMode: "host" },
  ],
  taskIps: ["10.240.1.10", "10.240.1.9", "10.240.1.10"],
};

Deno.test("planServices: the VIP takes every tcp and udp port; ingress target ports get their own", () => {
  const plan = planServices([web]);
  const tasks = [{ ip: "10.240.1.9" }, { ip: "10.240.1.10" }]; // deduped, sorted numerically
  assert.deepEqual(plan, [
    {
      key: "s1/tcp/*",
      serviceName: "web",
      protocol: "tcp",
      vip: "10.96.0.2",
      ingressPorts: [],
      backends: tasks,
    },
    {
      key: "s1/tcp/80",
      serviceName: "web",
      protocol: "tcp",
      targetPort: 80,
      ingressPorts: [8080, 8081],
      backends: tasks.map((t) => ({ ...t, port: 80 })),
    },
    {
      key: "s1/udp/*",
      serviceName: "web",
      protocol: "udp",
      vip: "10.96.0.2",
      ingressPorts: [],
      backends: tasks,
    },
  ]);
});

Deno.test("planServices: a VIP service without ports is balanced on every port", () => {
  const plan = planServices([{ ...web, ports: [], taskIps: ["10.240.1.9"] }]);
  assert.deepEqual(plan.map((p) => [p.key, p.vip, p.targetPort, p.backends]), [
    ["s1/tcp/*", "10.96.0.2", undefined, [{ ip: "10.240.1.9" }]],
    ["s1/udp/*", "10.96.0.2", undefined, [{ ip: "10.240.1.9" }]],
  ]);
});

Deno.test("planServices: dnsrr gets nothing; no VIP yet keeps only ingress ports", () => {
  assert.deepEqual(planServices([{ ...web, endpointMode: "dnsrr" }]), []);
  const noVip = planServices([{ ...web, vip: undefined }]);
  assert.deepEqual(noVip.map((p) => [p.key, p.vip, p.ingressPorts]), [
    ["s1/tcp/80", undefined, [8080, 8081]],
  ]);
  assert.deepEqual(planServices([{ ...web, vip: undefined, ports: [] }]), []);
});

Deno.test("planServices: the same endpoints in another order give the same plan", () => {
  const other: ServiceEndpoint = { ...web, serviceId: "s0", name: "api", vip: "10.96.0.3" };
  assert.deepEqual(planServices([web, other]), planServices([other, web]));
  assert.ok(compareIp("10.0.0.9", "10.0.0.10") < 0);
});
