/**
 * A node whose host rules are flushed behind its back (a firewall reload, `iptables -F`, inside
 * a netns node host with FORWARD DROP): the VIP and the ingress port work again within the
 * resync interval, without any new assignments message; a worker restarted while no manager
 * answers keeps serving its adopted tasks' VIP, ingress port and DNS names.
 */
import assert from "node:assert/strict";
import { queryDns } from "../../net/dns/query.ts";
import { runCommand } from "../../net/host/command.ts";
import type { ServiceEndpoint } from "../../proto/schema/mod.ts";
import { assignment, message } from "../../worker/_test_util.ts";
import { createNetworkHooks } from "../../worker/network_hooks.ts";
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

function webEndpoint(taskIps: string[]): ServiceEndpoint {
  return {
    serviceId: "svc1",
    name: "web",
    vip: "10.96.0.40",
    endpointMode: "vip",
    ports: [{ protocol: "tcp", target: 80, published: 18092, publishMode: "ingress" }],
    taskIps,
  };
}

if (env) {
  Deno.test("resync: VIP and ingress come back after the host's iptables were flushed", async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "warren-net-resync-" });
    const before = await snapshot(`${dataDir}/cni/ipam`);
    const hooks = await createNetworkHooks({
      nodeId: `node-${randomSuffix()}`,
      subnet: "10.240.14.0/24",
      clusterCidr: "10.240.0.0/16",
      dataDir,
      dnsPort: 0,
      dnsUpstreams: [],
      resyncIntervalMs: 300,
    });
    try {
      await using stack = new AsyncDisposableStack();
      const a = assignment({ name: "web" }, { id: "web.1.r1" });
      const r = await hooks.attach(a);
      const ns = hooks.node.tasks.names.netnsPrefix + a.task.id;
      stack.use(await startResponder(ns, 80, "r1"));
      await hooks.apply(message([], { endpoints: [webEndpoint([r.ip!])] }));
      const viaVip = () => inNetns(ns, ["busybox", "nc", "-w", "1", "10.96.0.40", "80"]);
      const viaIngress = () =>
        inNetns(env.clientNetns, ["busybox", "nc", "-w", "1", env.nodeAddress, "18092"]);
      assert.equal((await viaVip()).stdout.trim(), "r1");
      assert.equal((await viaIngress()).stdout.trim(), "r1");

      // A firewall reload: every rule and user chain goes, in both tables.
      for (const table of ["nat", "filter"]) {
        await runCommand(["iptables", "-w", "5", "-t", table, "-F"]);
        await runCommand(["iptables", "-w", "5", "-t", table, "-X"]);
      }
      await waitFor(
        "the VIP answers again",
        async () => (await viaVip()).stdout.trim() === "r1",
        10_000,
      );
      await waitFor(
        "the ingress port answers again from another host",
        async () => (await viaIngress()).stdout.trim() === "r1",
        10_000,
      );
    } finally {
      await hooks.close();
    }
    assert.deepEqual(await snapshot(`${dataDir}/cni/ipam`), before);
    await Deno.remove(dataDir, { recursive: true });
  });

  Deno.test("restart: a worker restarted with no manager keeps its tasks' VIP, ingress and DNS", async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "warren-net-resync-" });
    const before = await snapshot(`${dataDir}/cni/ipam`);
    const opts = {
      nodeId: `node-${randomSuffix()}`,
      subnet: "10.240.15.0/24",
      clusterCidr: "10.240.0.0/16",
      dataDir,
      dnsUpstreams: [],
      resyncIntervalMs: 0,
    };
    let hooks = await createNetworkHooks(opts);
    try {
      await using stack = new AsyncDisposableStack();
      const a = assignment({ name: "web" }, { id: "web.1.k1" });
      const r = await hooks.attach(a);
      const ns = hooks.node.tasks.names.netnsPrefix + a.task.id;
      stack.use(await startResponder(ns, 80, "k1"));
      await hooks.apply(message([], { endpoints: [webEndpoint([r.ip!])] }));
      // The daemon stops without draining (its containers stay up) and starts again; no
      // manager answers, so no assignments message comes.
      await hooks.close({ keepTasks: true });
      hooks = await createNetworkHooks(opts);
      assert.equal((await hooks.attach(a)).ip, r.ip, "the task keeps its address");
      const viaVip = await inNetns(ns, ["busybox", "nc", "-w", "1", "10.96.0.40", "80"]);
      assert.equal(viaVip.stdout.trim(), "k1", "the VIP still reaches the task");
      const viaIngress = await inNetns(env.clientNetns, [
        "busybox",
        "nc",
        "-w",
        "1",
        env.nodeAddress,
        "18092",
      ]);
      assert.equal(viaIngress.stdout.trim(), "k1", "the ingress port still answers");
      assert.deepEqual(
        (await queryDns("web", { server: "10.240.15.1", timeoutMs: 1_000 })).addresses,
        ["10.96.0.40"],
      );
    } finally {
      await hooks.close();
    }
    assert.deepEqual(await snapshot(`${dataDir}/cni/ipam`), before);
    await Deno.remove(dataDir, { recursive: true });
  });
} else {
  registerOuterRun(import.meta.url, "net: rules restored after a flush");
}
