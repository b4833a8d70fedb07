/** startNodeMesh between two network-namespace hosts, fed AssignmentsMessage-shaped updates. */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { createNetnsCluster, type NetnsHost } from "../../tests/fixtures/netns.ts";
import { type AssignmentsMessage, AssignmentsMessageSchema } from "../../proto/schema/dispatch.ts";
import { NodeWireGuardSchema } from "../../proto/schema/node.ts";
import { ValidationError } from "../../proto/errors.ts";
import { DEFAULT_WIREGUARD_PORT, endpointOf, type NodeMesh, startNodeMesh } from "./node_mesh.ts";

function message(
  m: Partial<AssignmentsMessage> & Pick<AssignmentsMessage, "complete">,
): AssignmentsMessage {
  return AssignmentsMessageSchema.parse({ index: 1, ...m });
}

async function pingWithin(host: NetnsHost, to: string, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await host.run(["busybox", "ping", "-c1", "-W1", to])).code === 0) return true;
  }
  return false;
}

Deno.test("node mesh: register entry, complete and delta messages, restart from mesh.json", async () => {
  await using cluster = await createNetnsCluster({ hosts: 2 });
  const [h1, h2] = cluster.hosts as [NetnsHost, NetnsHost];
  const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  const ids = [
    "nm-a-" + crypto.randomUUID().slice(0, 8),
    "nm-b-" + crypto.randomUUID().slice(0, 8),
  ];
  const meshes: NodeMesh[] = [];
  try {
    // Host 1's uplink carries less than 1500 (PPPoE, a tunnel underneath): its overlay fits.
    const links = JSON.parse((await h1.run(["ip", "-j", "addr", "show"])).stdout) as {
      ifname: string;
      addr_info?: { local?: string }[];
    }[];
    const uplink = links.find((l) => l.addr_info?.some((x) => x.local === h1.address))!.ifname;
    equal((await h1.run(["ip", "link", "set", "dev", uplink, "mtu", "1400"])).code, 0);
    const a = await startNodeMesh({
      nodeId: ids[0]!,
      dataDir: dirs[0]!,
      subnet: "10.242.1.0/24",
      advertiseAddr: h1.address,
      netns: h1.name,
    });
    meshes.push(a);
    const b = await startNodeMesh({
      nodeId: ids[1]!,
      dataDir: dirs[1]!,
      subnet: "10.242.2.0/24",
      advertiseAddr: h2.address,
      netns: h2.name,
    });
    meshes.push(b);
    equal(a.mesh.mtu, 1320, "1400 less WireGuard's 80 bytes");
    equal(b.mesh.mtu, 1420);
    const aLink = JSON.parse(
      (await h1.run(["ip", "-j", "link", "show", "dev", a.mesh.interfaceName])).stdout,
    ) as { mtu: number }[];
    equal(aLink[0]!.mtu, 1320);
    ok(NodeWireGuardSchema.safeParse(a.wireguard).success);
    deepEqual(a.wireguard.endpoint, `${h1.address}:${DEFAULT_WIREGUARD_PORT}`);
    const peers = [
      { nodeId: ids[0]!, wireguard: a.wireguard },
      { nodeId: ids[1]!, wireguard: b.wireguard },
    ];
    // Messages with no overlay content change nothing.
    await a.apply(message({ complete: false }));
    equal((await a.mesh.dump()).peers.size, 0);
    await a.apply(message({ complete: true, peers }));
    await b.apply(message({ complete: true, peers }));
    ok(await pingWithin(h1, b.mesh.address), "a → b");
    // A delta removing b.
    await a.apply(message({ complete: false, removedPeerIds: [ids[1]!] }));
    equal((await a.mesh.dump()).peers.size, 0);
    // A complete message that lists b again.
    await a.apply(message({ complete: true, peers }));
    equal((await a.mesh.dump()).peers.size, 1);
    ok(await pingWithin(h1, b.mesh.address), "a → b again");

    // Restart b without a subnet: it comes from mesh.json; the key and the peers are the same.
    await b.close();
    meshes.pop();
    const b2 = await startNodeMesh({
      nodeId: ids[1]!,
      dataDir: dirs[1]!,
      advertiseAddr: h2.address,
      netns: h2.name,
    });
    meshes.push(b2);
    deepEqual(b2.wireguard, b.wireguard);
    // Before any manager answers, b2 has the peers b knew: its tasks still reach a's.
    ok(await pingWithin(h1, b2.mesh.address), "a → restarted b, before any message");
    await b2.apply(message({ complete: true, peers }));
    ok(await pingWithin(h1, b2.mesh.address), "a → restarted b");
  } finally {
    for (const m of meshes) await m.close();
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("node mesh: refuses to start without a subnet", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await rejects(
      () => startNodeMesh({ nodeId: "x", dataDir: dir, advertiseAddr: "127.0.0.1" }),
      (e) => e instanceof ValidationError && /rejoin/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("endpointOf brackets IPv6", () => {
  equal(endpointOf("10.0.0.1", 51820), "10.0.0.1:51820");
  equal(endpointOf("fd00::1", 51820), "[fd00::1]:51820");
});
