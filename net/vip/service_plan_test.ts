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

Deno.test("planServices: one entry per service port, backends deduped and sorted numerically", () => {
  const plan = planServices([web]);
  assert.deepEqual(plan, [
    {
      key: "s1/tcp/80",
      serviceName: "web",
      protocol: "tcp",
      vip: "10.96.0.2",
      vipPort: 80,
      ingressPorts: [8080, 8081],
      backends: [{ ip: "10.240.1.9", port: 80 }, { ip: "10.240.1.10", port: 80 }],
    },
    {
      key: "s1/udp/53",
      serviceName: "web",
      protocol: "udp",
      vip: "10.96.0.2",
      vipPort: 53,
      ingressPorts: [],
      backends: [{ ip: "10.240.1.9", port: 53 }, { ip: "10.240.1.10", port: 53 }],
    },
  ]);
});

Deno.test("planServices: dnsrr gets nothing; no VIP yet keeps only ingress ports", () => {
  assert.deepEqual(planServices([{ ...web, endpointMode: "dnsrr" }]), []);
  const noVip = planServices([{ ...web, vip: undefined }]);
  assert.deepEqual(noVip.map((p) => [p.key, p.vip, p.ingressPorts]), [
    ["s1/tcp/80", undefined, [8080, 8081]],
  ]);
});

Deno.test("planServices: the same endpoints in another order give the same plan", () => {
  const other: ServiceEndpoint = { ...web, serviceId: "s0", name: "api", vip: "10.96.0.3" };
  assert.deepEqual(planServices([web, other]), planServices([other, web]));
  assert.ok(compareIp("10.0.0.9", "10.0.0.10") < 0);
});
