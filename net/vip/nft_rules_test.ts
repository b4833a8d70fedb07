import assert from "node:assert/strict";
import { nodeNames } from "../host/names.ts";
import { nftScript } from "./nft_rules.ts";
import { planServices } from "./service_plan.ts";

const names = nodeNames("node-1");
const ctx = { names, bridge: names.bridge, subnet: "10.240.1.0/24", clusterCidr: "10.240.0.0/16" };

Deno.test("nftScript: replaces the table atomically and picks backends with numgen", () => {
  const script = nftScript(
    "warren_svc_x",
    planServices([{
      serviceId: "s1",
      name: "web",
      vip: "10.96.0.2",
      endpointMode: "vip",
      ports: [{ protocol: "tcp", target: 80, published: 8080, publishMode: "ingress" }],
      taskIps: ["10.240.1.2", "10.240.1.3", "10.240.1.4"],
    }]),
    ctx,
  );
  const lines = script.split("\n");
  assert.equal(lines[0], "table ip warren_svc_x {}");
  assert.equal(lines[1], "delete table ip warren_svc_x");
  assert.ok(script.includes("ip daddr 10.96.0.2 meta l4proto tcp jump svc_"));
  assert.ok(script.includes("ip daddr 10.96.0.2 meta l4proto udp jump svc_"));
  assert.ok(!/10\.96\.0\.2 .*dport/.test(script), "the VIP matches every port");
  assert.match(
    script,
    /numgen random mod 3 vmap \{ 0 : jump ep_\w+, 1 : jump ep_\w+, 2 : jump ep_\w+ \}/,
  );
  assert.ok(script.includes("meta l4proto tcp dnat to 10.240.1.3\n"), "the VIP keeps the port");
  assert.ok(script.includes("meta l4proto tcp dnat to 10.240.1.3:80"), "ingress sets it");
  assert.ok(script.includes("tcp dport 8080 meta mark set meta mark | 0x80000 jump svc_"));
  assert.ok(script.includes("fib daddr type local ip daddr != 127.0.0.0/8 jump ports"));
});

Deno.test("nftScript: one backend is a plain jump, none an empty chain", () => {
  const one = nftScript(
    "t",
    planServices([{
      serviceId: "s1",
      name: "web",
      vip: "10.96.0.2",
      endpointMode: "vip",
      ports: [{ protocol: "udp", target: 53, publishMode: "ingress" }],
      taskIps: ["10.240.1.2"],
    }]),
    ctx,
  );
  assert.ok(!one.includes("numgen"));
  assert.match(one, /chain svc_\w+ \{\n {4}jump ep_\w+\n {2}\}/);
});

Deno.test("nftScript: a VIP port without tasks is rejected from the forward and output hooks", () => {
  const web = (taskIps: string[]) =>
    planServices([{
      serviceId: "s1",
      name: "web",
      vip: "10.96.0.2",
      endpointMode: "vip",
      ports: [{ protocol: "tcp", target: 80, publishMode: "ingress" }],
      taskIps,
    }]);
  const script = nftScript("t", web([]), ctx);
  assert.match(
    script,
    /chain noendpoints \{\n {4}ip daddr 10\.96\.0\.2 meta l4proto tcp reject\n {4}ip daddr 10\.96\.0\.2 meta l4proto udp reject\n/,
  );
  assert.ok(script.includes("type filter hook forward priority filter; policy accept;"));
  assert.ok(script.includes("type filter hook output priority filter; policy accept;"));
  assert.ok(!nftScript("t", web(["10.240.1.2"]), ctx).includes("reject"));
});
