/**
 * Warren's network hooks on a real node (inside a netns node host, FORWARD DROP): tasks get
 * namespaces and a resolv.conf, the resolver on the gateway answers service names to tasks and
 * forwards the rest, an ingress published port answers on the node from another host (keeping
 * the client address for local tasks), endpoints follow the worker's assignments, and close or
 * the crash cleanup leave nothing behind.
 */
import assert from "node:assert/strict";
import { DnsServer } from "../../net/dns/server.ts";
import { queryDns } from "../../net/dns/query.ts";
import type { ServiceEndpoint } from "../../proto/schema/mod.ts";
import { assignment, fakeRuntime, message } from "../../worker/_test_util.ts";
import { cleanupNodeNetworking, createNetworkHooks } from "../../worker/network_hooks.ts";
import { Worker } from "../../worker/worker.ts";
import {
  inNetns,
  nodeHostEnv,
  randomSuffix,
  registerOuterRun,
  snapshot,
  startResponder,
  waitFor,
} from "./net_fixture.ts";

const env = nodeHostEnv();

/** A resolver standing in for the host's upstream: it owns the name "outside". */
async function upstreamResolver() {
  const s = await DnsServer.start({ hostname: "127.0.0.1", port: 0, upstreams: [] });
  s.setEndpoints([{
    serviceId: "up",
    name: "outside",
    vip: "192.0.2.7",
    endpointMode: "vip",
    ports: [],
    taskIps: [],
  }]);
  return s;
}

function webEndpoint(taskIps: string[]): ServiceEndpoint {
  return {
    serviceId: "svc1",
    name: "web",
    vip: "10.96.0.30",
    endpointMode: "vip",
    ports: [{ protocol: "tcp", target: 80, published: 18090, publishMode: "ingress" }],
    taskIps,
  };
}

/** `busybox nslookup name server` from inside `netns`: the addresses it printed for `name`. */
async function nslookup(netns: string, name: string, server: string): Promise<string[]> {
  const r = await inNetns(netns, ["busybox", "nslookup", name, server]);
  // Skip the "Server:/Address:" header block, keep the answer's addresses.
  const answer = r.stdout.split(/\n\s*\n/).slice(1).join("\n");
  return [...answer.matchAll(/Address(?: \d+)?:\s*(\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]!).sort();
}

if (env) {
  Deno.test("hooks: task netns, DNS for tasks, VIP and ingress from another host, close", async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "warren-net-hooks-" });
    const before = await snapshot(`${dataDir}/cni/ipam`);
    const upstream = await upstreamResolver();
    const hooks = await createNetworkHooks({
      nodeId: `node-${randomSuffix()}`,
      subnet: "10.240.11.0/24",
      clusterCidr: "10.240.0.0/16",
      dataDir,
      dnsUpstreams: [{ ip: "127.0.0.1", port: upstream.port }],
    });
    const gw = "10.240.11.1";
    try {
      await using stack = new AsyncDisposableStack();
      const a1 = assignment({ name: "web" }, { id: "web.1.x1" });
      const a2 = assignment({ name: "web" }, { id: "web.2.x2" });
      const r1 = await hooks.attach(a1);
      const r2 = await hooks.attach(a2);
      assert.equal(r1.network.mode, "netns");
      assert.match(
        await Deno.readTextFile(r1.resolvConfPath),
        new RegExp(`^nameserver ${gw}$`, "m"),
      );
      const ns1 = hooks.node.tasks.names.netnsPrefix + "web.1.x1";
      const ns2 = hooks.node.tasks.names.netnsPrefix + "web.2.x2";
      stack.use(await startResponder(ns1, 80, "w1"));
      stack.use(await startResponder(ns2, 80, "w2"));
      await hooks.apply(message([], { endpoints: [webEndpoint([r1.ip!, r2.ip!])] }));

      // DNS, asked from inside a task as its resolv.conf says: gateway:53.
      assert.deepEqual(await nslookup(ns1, "web", gw), ["10.96.0.30"]);
      assert.deepEqual(await nslookup(ns1, "web.warren", gw), ["10.96.0.30"]);
      assert.deepEqual(await nslookup(ns2, "tasks.web", gw), [r1.ip!, r2.ip!].sort());
      assert.deepEqual(await nslookup(ns2, "outside", gw), ["192.0.2.7"], "forwarded upstream");

      // The VIP from inside a task.
      const viaVip = await inNetns(ns2, ["busybox", "nc", "-w", "2", "10.96.0.30", "80"]);
      assert.match(viaVip.stdout.trim(), /^w[12]$/);

      // Ingress: port 18090 of the node, from another host; both tasks answer.
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const r = await inNetns(env.clientNetns, [
          "busybox",
          "nc",
          "-w",
          "2",
          env.nodeAddress,
          "18090",
        ]);
        assert.equal(r.code, 0, r.stderr);
        seen.add(r.stdout.trim());
      }
      assert.deepEqual([...seen].sort(), ["w1", "w2"]);
      // The local task saw the client's own address: the reply tuple goes back to the client.
      const ct = await Deno.readTextFile("/proc/net/nf_conntrack");
      const entry = ct.split("\n").find((l) => l.includes("dport=18090"));
      assert.ok(entry, "a conntrack entry for the ingress connections");
      assert.ok(entry.includes(`dst=${env.clientAddress}`), `no SNAT: ${entry}`);

      // A task goes away: DNS and the VIP follow at once.
      await hooks.detach(a2.task.id);
      await hooks.apply(message([], { complete: false, endpoints: [webEndpoint([r1.ip!])] }));
      assert.deepEqual(
        (await queryDns("tasks.web", { server: gw, port: hooks.node.dns.port })).addresses,
        [r1.ip!],
      );
      for (let i = 0; i < 5; i++) {
        const r = await inNetns(ns1, ["busybox", "nc", "-w", "2", "10.96.0.30", "80"]);
        assert.equal(r.stdout.trim(), "w1");
      }
      await hooks.apply(message([], { complete: false, removedEndpointIds: ["svc1"] }));
      assert.equal((await queryDns("web.warren", { server: gw })).rcode, "NXDOMAIN");
    } finally {
      await hooks.close();
      await upstream.close();
    }
    assert.deepEqual(await snapshot(`${dataDir}/cni/ipam`), before);
    await Deno.remove(dataDir, { recursive: true });
  });

  Deno.test("hooks.follow: a worker's assignments drive the node's DNS and VIPs", async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "warren-net-hooks-" });
    const before = await snapshot(`${dataDir}/cni/ipam`);
    const hooks = await createNetworkHooks({
      nodeId: `node-${randomSuffix()}`,
      subnet: "10.240.12.0/24",
      dataDir,
      dnsUpstreams: [],
    });
    const { runtime } = fakeRuntime();
    const worker = await Worker.open({
      nodeId: "node1",
      dataDir,
      runtime,
      network: hooks,
      statePath: ":memory:",
    });
    const unfollow = hooks.follow(worker);
    try {
      const a = assignment({ name: "api" }, { id: "api.1.y1" });
      worker.applyAssignments(message([a]));
      let ip = "";
      await waitFor("the task's network", async () => {
        ip = (await hooks.node.tasks.get(a.task.id))?.ip ?? "";
        return ip !== "";
      });
      worker.applyAssignments(message([a], {
        index: 2,
        endpoints: [{
          serviceId: "svc1",
          name: "api",
          vip: "10.96.0.31",
          endpointMode: "vip",
          ports: [{ protocol: "tcp", target: 80, publishMode: "ingress" }],
          taskIps: [ip],
        }],
      }));
      await waitFor(
        "DNS answers api",
        async () =>
          (await queryDns("api", { server: "10.240.12.1" })).addresses[0] === "10.96.0.31",
      );
      await waitFor("the VIP rules", () => hooks.node.proxy.plan[0]?.backends[0]?.ip === ip);
    } finally {
      unfollow();
      await worker.stop();
      await hooks.close();
    }
    assert.deepEqual(await snapshot(`${dataDir}/cni/ipam`), before);
    await Deno.remove(dataDir, { recursive: true });
  });

  Deno.test("cleanupNodeNetworking removes a crashed node's data plane", async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "warren-net-hooks-" });
    const before = await snapshot(`${dataDir}/cni/ipam`);
    const nodeId = `node-${randomSuffix()}`;
    const hooks = await createNetworkHooks({
      nodeId,
      subnet: "10.240.13.0/24",
      dataDir,
      dnsPort: 0,
      dnsUpstreams: [],
      // It is never closed (a crash): no timer may outlive the test.
      resyncIntervalMs: 0,
    });
    const a = assignment(
      { name: "web", ports: [{ target: 80, published: 18091, publishMode: "host" }] },
      { id: "web.1.z1" },
    );
    const r = await hooks.attach(a);
    await hooks.apply(message([], { endpoints: [webEndpoint([r.ip!])] }));
    // The process "dies": only its listener goes with it; everything else stays on the host.
    await hooks.node.dns.close();
    assert.notDeepEqual(await snapshot(`${dataDir}/cni/ipam`), before);
    await cleanupNodeNetworking({ nodeId, dataDir });
    assert.deepEqual(await snapshot(`${dataDir}/cni/ipam`), before);
    await Deno.remove(dataDir, { recursive: true });
  });
} else {
  registerOuterRun(import.meta.url, "net: worker network hooks");
}
