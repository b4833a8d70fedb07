import assert from "node:assert/strict";
import { nodeNames } from "../host/names.ts";
import {
  filterJumps,
  type NatContext,
  natJumps,
  natRuleset,
  rejectRuleset,
  restoreText,
} from "./iptables_rules.ts";
import { planServices } from "./service_plan.ts";
import type { ServiceEndpoint } from "../../proto/schema/mod.ts";

const names = nodeNames("node-1");
const ctx: NatContext = {
  names,
  bridge: names.bridge,
  subnet: "10.240.1.0/24",
  clusterCidr: "10.240.0.0/16",
};
const ep = (ips: string[], extra: Partial<ServiceEndpoint> = {}): ServiceEndpoint => ({
  serviceId: "s1",
  name: "web",
  vip: "10.96.0.2",
  endpointMode: "vip",
  ports: [{ protocol: "tcp", target: 80, published: 8080, publishMode: "ingress" }],
  taskIps: ips,
  ...extra,
});

Deno.test("natRuleset: VIP match per protocol on every port, 1/n cascade, hairpin mark, DNAT keeping the port", () => {
  const rules = natRuleset(planServices([ep(["10.240.1.2", "10.240.1.3", "10.240.1.4"])]), ctx);
  const services = rules.get(names.servicesChain)!;
  assert.equal(services.length, 2);
  assert.match(
    services[0]!,
    /^-d 10\.96\.0\.2\/32 -p tcp -m comment --comment "web:\*\/tcp" -j WSVC-/,
  );
  assert.match(services[1]!, /^-d 10\.96\.0\.2\/32 -p udp .* -j WSVC-/);
  assert.ok(!services.some((r) => r.includes("--dport")), "no port match: every port");
  const svc = services[0]!.split(" -j ")[1]!;
  const cascade = rules.get(svc)!;
  assert.equal(cascade.length, 3);
  assert.match(cascade[0]!, /--probability 0\.3333333333 -j WSEP-/);
  assert.match(cascade[1]!, /--probability 0\.5000000000 -j WSEP-/);
  assert.ok(!cascade[2]!.includes("statistic"), "the last backend takes what is left");
  const ep0 = rules.get(cascade[0]!.split(" -j ")[1]!)!;
  assert.match(ep0[0]!, /^-s 10\.240\.1\.2\/32 .* -j MARK --set-xmark 0x40000\/0x40000$/);
  assert.match(ep0[1]!, /^-p tcp .* -j DNAT --to-destination 10\.240\.1\.2$/);
  // The ingress port has its own chain, DNATing to the target port.
  const ports = rules.get(names.portsChain)!;
  assert.match(ports[0]!, /--dport 8080 .* -j MARK --set-xmark 0x80000\/0x80000$/);
  const ingressSvc = ports[1]!.split(" -j ")[1]!;
  assert.notEqual(ingressSvc, svc);
  const ingressEp = rules.get(rules.get(ingressSvc)![0]!.split(" -j ")[1]!)!;
  assert.match(ingressEp[1]!, /^-p tcp .* -j DNAT --to-destination 10\.240\.1\.2:80$/);
  const post = rules.get(names.postroutingChain)!;
  assert.ok(
    post.includes(`-s 10.240.1.0/24 ! -d 10.240.0.0/16 ! -o ${names.bridge} -j MASQUERADE`),
  );
  assert.ok(post.includes(`-m mark --mark 0x80000/0x80000 ! -o ${names.bridge} -j MASQUERADE`));
});

Deno.test("natRuleset: no backends → an empty service chain; masqueradeLocalVip adds a rule", () => {
  const rules = natRuleset(planServices([ep([])]), { ...ctx, masqueradeLocalVip: true });
  for (const rule of rules.get(names.servicesChain)!) {
    assert.deepEqual(rules.get(rule.split(" -j ")[1]!), []);
  }
  assert.ok(rules.get(names.postroutingChain)!.some((r) => r.includes("--ctstate DNAT")));
});

Deno.test("restoreText: first apply declares every chain; no change → empty text", () => {
  const next = natRuleset(planServices([ep(["10.240.1.2"])]), ctx);
  const text = restoreText(new Map(), next);
  assert.ok(text.startsWith("*nat\n"));
  assert.ok(text.endsWith("COMMIT\n"));
  for (const chain of next.keys()) assert.ok(text.includes(`:${chain} - [0:0]`), chain);
  assert.equal(restoreText(next, next), "");
});

Deno.test("restoreText: removing a backend rewrites only the service chain and drops its endpoint", () => {
  const vipOnly = { ports: [] };
  const two = natRuleset(planServices([ep(["10.240.1.2", "10.240.1.3"], vipOnly)]), ctx);
  const one = natRuleset(planServices([ep(["10.240.1.2"], vipOnly)]), ctx);
  const text = restoreText(two, one);
  const lines = text.split("\n");
  const declared = lines.filter((l) => l.startsWith(":")).map((l) => l.slice(1).split(" ")[0]);
  const deleted = lines.filter((l) => l.startsWith("-X ")).map((l) => l.slice(3));
  // One endpoint chain per protocol (tcp, udp) of the VIP.
  assert.equal(deleted.length, 2);
  assert.ok(deleted.every((c) => c.startsWith(`WSEP-${names.tag}-`)));
  // Declared: the rewritten service chains and the removed endpoint chains (flushed before -X).
  assert.equal(declared.length, 4);
  assert.ok(declared.some((c) => c!.startsWith(`WSVC-${names.tag}-`)));
  assert.ok(lines.indexOf(`-X ${deleted[0]}`) > lines.findLastIndex((l) => l.startsWith("-A ")));
  assert.ok(!text.includes("--dport"), "VIP rules match every port");
  assert.ok(!text.includes(names.servicesChain), "the services chain did not change");
});

Deno.test("restoreText: everything to nothing deletes every chain", () => {
  const one = natRuleset(planServices([ep(["10.240.1.2"])]), ctx);
  const text = restoreText(one, new Map());
  assert.equal(text.split("\n").filter((l) => l.startsWith("-X ")).length, one.size);
  assert.ok(!text.includes("-A "));
});

Deno.test("natJumps: services from PREROUTING and OUTPUT, ports only to local addresses", () => {
  const jumps = natJumps(names);
  assert.deepEqual(jumps.map(([b, c]) => [b, c]), [
    ["PREROUTING", names.servicesChain],
    ["OUTPUT", names.servicesChain],
    ["PREROUTING", names.portsChain],
    ["OUTPUT", names.portsChain],
    ["POSTROUTING", names.postroutingChain],
  ]);
  assert.ok(jumps[3]![2].join(" ").includes("! -d 127.0.0.0/8"));
});

Deno.test("rejectRuleset: only VIPs without tasks are refused (every port), in the filter table", () => {
  const none = rejectRuleset(planServices([ep([])]), names);
  assert.deepEqual([...none.keys()], [names.rejectChain]);
  const [tcp, udp, ...rest] = none.get(names.rejectChain)!;
  assert.deepEqual(rest, [], "the ingress port adds no reject rule");
  assert.match(tcp!, /^-d 10\.96\.0\.2\/32 -p tcp -m comment .*has no task.* -j REJECT/);
  assert.match(udp!, /^-d 10\.96\.0\.2\/32 -p udp -m comment .*has no task.* -j REJECT/);
  assert.ok(!tcp!.includes("--dport"), tcp);
  assert.match(tcp!, /--reject-with icmp-port-unreachable$/);
  assert.deepEqual(
    rejectRuleset(planServices([ep(["10.240.1.2"])]), names).get(names.rejectChain),
    [],
  );
  // Without a VIP (not allocated yet) there is nothing to refuse.
  const noVip = rejectRuleset(planServices([ep([], { vip: undefined })]), names);
  assert.deepEqual(noVip.get(names.rejectChain), []);
  // A task arriving rewrites the chain empty; the filter batch says *filter.
  const text = restoreText(
    none,
    rejectRuleset(planServices([ep(["10.240.1.2"])]), names),
    "filter",
  );
  assert.ok(text.startsWith("*filter\n"));
  assert.ok(text.includes(`:${names.rejectChain} - [0:0]`));
  assert.ok(!text.includes("REJECT"));
  assert.deepEqual(filterJumps(names).map(([b]) => b), ["OUTPUT", "FORWARD"]);
});
