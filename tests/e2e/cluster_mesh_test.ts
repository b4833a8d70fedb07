/**
 * Three hosts (network namespaces on one machine), each running a real Warren process: host 1
 * `warren cluster init` (manager + worker), host 2 `warren join` with a worker token and host 3
 * with a manager token (a manager that also runs tasks, as Swarm's do). The cluster forms over
 * mutual TLS, every node becomes ready, the WireGuard mesh connects the node subnets, and
 * stopping the daemons (the last ones without a Raft quorum) leaves no overlay interface or
 * socket behind.
 * Needs root, containerd, iproute2, iptables, wireguard-tools and wireguard-go.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { createNetnsCluster, type NetnsHost } from "../fixtures/netns.ts";
import { startWarrenCluster } from "./_warren_hosts.ts";
import { overlayAddress } from "../../net/wireguard/interface_name.ts";
import { socketPath } from "../../net/wireguard/device.ts";
import { meshWired, pollUntil } from "./_e2e_util.ts";

interface NodeJson {
  id: string;
  hostname: string;
  role: string;
  addresses: { advertise: string };
  status: { state: string };
  wireguard?: { publicKey: string; endpoint: string; subnet: string };
}

async function ping(host: NetnsHost, to: string): Promise<boolean> {
  return (await host.run(["busybox", "ping", "-c1", "-W1", to])).code === 0;
}

async function wgLinks(host: NetnsHost): Promise<string[]> {
  const r = await host.run(["ip", "-j", "link", "show"]);
  return (JSON.parse(r.stdout || "[]") as { ifname: string }[])
    .map((l) => l.ifname)
    .filter((n) => n.startsWith("wg-"));
}

Deno.test("e2e: three hosts form a cluster; the WireGuard mesh links their subnets", async (t) => {
  await using netns = await createNetnsCluster({ hosts: 3 });
  await using warren = await startWarrenCluster(netns, { managers: [2] });
  const wired = await meshWired();
  let nodes: NodeJson[] = [];

  await t.step("every node is ready in `warren node ls`", async () => {
    nodes = await pollUntil(async () => {
      const list = JSON.parse(await warren.mustCli(["node", "ls", "-o", "json"])) as NodeJson[];
      const ready = list.filter((n) => n.status.state === "ready");
      const complete = !wired || list.every((n) => n.wireguard !== undefined);
      return ready.length === 3 && complete ? list : undefined;
    }, 30_000);
    deepEqual(
      nodes.map((n) => n.addresses.advertise).sort(),
      netns.hosts.map((h) => h.address).sort(),
    );
    // The joined manager is ready only because it runs a worker too.
    equal(nodes.filter((n) => n.role === "manager").length, 2);
  });

  await t.step({
    name: "the mesh connects every pair of node subnets",
    ignore: !wired,
    fn: async () => {
      const byAddress = new Map(nodes.map((n) => [n.addresses.advertise, n]));
      for (const h of netns.hosts) {
        const n = byAddress.get(h.address)!;
        equal(n.wireguard!.endpoint, `${h.address}:51820`);
        equal((await wgLinks(h)).length, 1, `${h.name} has one overlay interface`);
      }
      const subnets = new Set(nodes.map((n) => n.wireguard!.subnet));
      equal(subnets.size, 3, "distinct node subnets");
      for (const from of netns.hosts) {
        for (const to of nodes) {
          if (to.addresses.advertise === from.address) continue;
          const target = overlayAddress(to.wireguard!.subnet);
          ok(
            await pollUntil(async () => (await ping(from, target)) || undefined, 10_000),
            `${from.address} → ${target}`,
          );
        }
      }
    },
  });

  await t.step("stopping the daemons leaves no overlay interface or socket", async () => {
    const names = new Set<string>();
    for (const n of warren.nodes) for (const l of await wgLinks(n.host)) names.add(l);
    for (const n of [...warren.nodes].reverse()) {
      const code = await warren.stopNode(n);
      equal(code, 0, `${n.host.name} exited cleanly:\n${n.log.join("").slice(-2000)}`);
    }
    for (const h of netns.hosts) deepEqual(await wgLinks(h), [], `${h.name} interfaces`);
    for (const name of names) {
      equal(await exists(socketPath(name)), false, `${socketPath(name)} removed`);
    }
  });
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
