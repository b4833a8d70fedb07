/**
 * Task networks through the real CNI plugins, inside a netns node host whose FORWARD policy is
 * DROP: two tasks reach each other and the gateway, a host port reaches a task from another
 * host, and tearing down leaves no interface, namespace, lease or iptables rule behind.
 */
import assert from "node:assert/strict";
import { TaskNetworks } from "../../net/cni/task_network.ts";
import { runCommand } from "../../net/host/command.ts";
import { removeEmptyPortmapChains } from "../../net/ports/host_ports.ts";
import {
  inNetns,
  nodeHostEnv,
  randomSuffix,
  registerOuterRun,
  snapshot,
  startResponder,
} from "./net_fixture.ts";

const env = nodeHostEnv();

if (env) {
  Deno.test("two task netns on one node reach each other; teardown leaves nothing", async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "warren-net-cni-" });
    const before = await snapshot(`${dataDir}/cni/ipam`);
    const policy = await runCommand(["iptables", "-S", "FORWARD"]);
    assert.match(policy.stdout, /-P FORWARD DROP/, "the node host drops forwarded traffic");
    const nets = await TaskNetworks.open({
      nodeId: `node-${randomSuffix()}`,
      subnet: "10.240.7.0/24",
      clusterCidr: "10.240.0.0/16",
      dataDir,
    });
    try {
      const a = await nets.createTaskNetwork("web.1.aaa");
      const b = await nets.createTaskNetwork("web.2.bbb");
      assert.equal(a.gateway, "10.240.7.1");
      assert.notEqual(a.ip, b.ip);
      assert.match(a.ip, /^10\.240\.7\.\d+$/);
      assert.deepEqual(await nets.createTaskNetwork("web.1.aaa"), a, "create is idempotent");
      const ping = await inNetns(a.netnsName, ["busybox", "ping", "-c1", "-W2", b.ip]);
      assert.equal(ping.code, 0, `a → b: ${ping.stdout}${ping.stderr}`);
      const gw = await inNetns(b.netnsName, ["busybox", "ping", "-c1", "-W2", a.gateway]);
      assert.equal(gw.code, 0, `b → gateway: ${gw.stdout}${gw.stderr}`);
      const lo = await inNetns(a.netnsName, ["ip", "-br", "link", "show", "lo"]);
      assert.match(lo.stdout, /UNKNOWN|UP/, "loopback is up");
      const leases = [...Deno.readDirSync(nets.leaseDir)].map((e) => e.name);
      assert.ok(leases.some((n) => n.includes(a.ip)), `lease file for ${a.ip}`);

      await nets.destroyTaskNetwork("web.1.aaa");
      await nets.destroyTaskNetwork("web.1.aaa"); // idempotent
      assert.equal((await nets.list()).length, 1);
      assert.ok(![...Deno.readDirSync(nets.leaseDir)].some((e) => e.name.includes(a.ip)));
    } finally {
      await nets.close();
    }
    const after = await snapshot(`${dataDir}/cni/ipam`);
    assert.deepEqual(after, before);
    await Deno.remove(dataDir, { recursive: true });
  });

  Deno.test("a host-mode port answers on the node from another host; DEL removes it", async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "warren-net-cni-" });
    const before = await snapshot(`${dataDir}/cni/ipam`);
    const nets = await TaskNetworks.open({
      nodeId: `node-${randomSuffix()}`,
      subnet: "10.240.8.0/24",
      dataDir,
    });
    try {
      const t = await nets.createTaskNetwork("api.1.ccc", {
        portMappings: [{ hostPort: 18080, containerPort: 80, protocol: "tcp" }],
      });
      {
        await using _r = await startResponder(t.netnsName, 80, "api-1");
        const got = await inNetns(env.clientNetns, [
          "busybox",
          "nc",
          "-w",
          "2",
          env.nodeAddress,
          "18080",
        ]);
        assert.equal(got.stdout.trim(), "api-1", got.stderr);
      }
      await nets.destroyTaskNetwork("api.1.ccc");
      const nat = (await runCommand(["iptables-save", "-t", "nat"])).stdout;
      assert.ok(!nat.includes("18080"), nat);
    } finally {
      await nets.close();
      await removeEmptyPortmapChains();
    }
    assert.deepEqual(await snapshot(`${dataDir}/cni/ipam`), before);
    await Deno.remove(dataDir, { recursive: true });
  });
} else {
  registerOuterRun(import.meta.url, "net: CNI task networks");
}
