/**
 * The mesh over real wireguard-go between network-namespace hosts (tests/fixtures/netns.ts).
 * Needs root, iproute2, wireguard-tools and wireguard-go.
 */
import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import { createNetnsCluster, type NetnsHost } from "../../tests/fixtures/netns.ts";
import type { OverlayPeer } from "../../proto/schema/dispatch.ts";
import { Mesh } from "./mesh.ts";
import { socketPath } from "./device.ts";
import { loadOrCreateNodeKey } from "./keys.ts";

const PORT = 51820;
/** A fresh mesh's first ping answers within this (see pingWithin). */
const FIRST_PING_MS = 4000;

interface TestNode {
  host: NetnsHost;
  mesh: Mesh;
  nodeId: string;
  subnet: string;
  dataDir: string;
}

async function startNodes(hosts: NetnsHost[]): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  for (const [i, host] of hosts.entries()) {
    const dataDir = await Deno.makeTempDir({ prefix: "warren-wg-" });
    const nodeId = `node-${crypto.randomUUID().slice(0, 8)}-${i + 1}`;
    const subnet = `10.241.${i + 1}.0/24`;
    const mesh = await Mesh.start({ nodeId, subnet, listenPort: PORT, dataDir, netns: host.name });
    nodes.push({ host, mesh, nodeId, subnet, dataDir });
  }
  return nodes;
}

async function closeNodes(nodes: TestNode[]): Promise<void> {
  for (const n of nodes) {
    await n.mesh.close();
    await Deno.remove(n.dataDir, { recursive: true });
  }
}

function entry(n: TestNode, endpointHost = n.host.address): OverlayPeer {
  return {
    nodeId: n.nodeId,
    wireguard: {
      publicKey: n.mesh.publicKey,
      endpoint: `${endpointHost}:${PORT}`,
      subnet: n.subnet,
    },
  };
}

async function ping(from: TestNode, to: string): Promise<boolean> {
  return (await from.host.run(["busybox", "ping", "-c1", "-W1", to])).code === 0;
}

/** Pings until it answers (a fresh tunnel needs a handshake first) or the deadline passes. */
// WireGuard retries a handshake every 5 s (REKEY_TIMEOUT). A new pair's first handshake is lost
// when the two nodes' initiations cross; the mesh restarts it after 1 s (stalledFirstHandshakes),
// so a fresh mesh answers within ~1 s: FIRST_PING_MS leaves room for a loaded machine. The
// default covers retries after other changes (a moved endpoint).
async function pingWithin(from: TestNode, to: string, timeoutMs = 17_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) if (await ping(from, to)) return true;
  return false;
}

async function routes(n: TestNode): Promise<string[]> {
  const r = await n.host.run(["ip", "-4", "-j", "route", "show", "dev", n.mesh.interfaceName]);
  return (JSON.parse(r.stdout || "[]") as { dst: string }[]).map((x) => x.dst).sort();
}

Deno.test("mesh: ping between node subnets, peer removal, teardown", async () => {
  await using cluster = await createNetnsCluster({ hosts: 3 });
  const nodes = await startNodes(cluster.hosts);
  const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
  try {
    for (const n of nodes) {
      ok(n.mesh.interfaceName.length <= 15, n.mesh.interfaceName);
      equal(n.mesh.kind, "userspace"); // this kernel has no WireGuard module
    }
    notEqual(a.mesh.interfaceName, b.mesh.interfaceName);
    const all = nodes.map((n) => entry(n));
    await Promise.all(nodes.map((n) => n.mesh.setPeers(all)));
    deepEqual(await routes(a), ["10.241.2.0/24", "10.241.3.0/24"]);
    // Three pairs configured at once: their first initiations often cross (6 runs in 10 before
    // the mesh restarted such handshakes, each then waiting 5 s).
    ok(await pingWithin(a, b.mesh.address, FIRST_PING_MS), "a → b through the tunnel");
    ok(await pingWithin(a, c.mesh.address, FIRST_PING_MS), "a → c through the tunnel");
    ok(await pingWithin(c, b.mesh.address, FIRST_PING_MS), "c → b through the tunnel");

    // Applying the same list again changes nothing.
    const before = await a.mesh.dump();
    await a.mesh.setPeers(all);
    deepEqual([...(await a.mesh.dump()).peers.keys()].sort(), [...before.peers.keys()].sort());

    // c leaves: a and b drop it. a has no route; c's packets to a are not accepted either.
    const withoutC = [entry(a), entry(b)];
    await Promise.all([a.mesh.setPeers(withoutC), b.mesh.setPeers(withoutC)]);
    deepEqual(await routes(a), ["10.241.2.0/24"]);
    ok(!(await a.mesh.dump()).peers.has(c.mesh.publicKey));
    equal(await ping(a, c.mesh.address), false, "a → c after removal");
    equal(await ping(c, a.mesh.address), false, "c → a after removal (a drops c's key)");
    ok(await ping(a, b.mesh.address), "a → b still works");
  } finally {
    await closeNodes(nodes);
  }
  for (const n of nodes) {
    const link = await n.host.run(["ip", "link", "show", "dev", n.mesh.interfaceName]);
    notEqual(link.code, 0, `${n.mesh.interfaceName} removed`);
    equal(await exists(socketPath(n.mesh.interfaceName)), false, "socket removed");
    equal(await processAlive(n.mesh.pid!), false, "wireguard-go stopped");
  }
});

Deno.test("mesh: a lost first handshake is restarted after 1 s, not WireGuard's 5 s", async () => {
  await using cluster = await createNetnsCluster({ hosts: 2 });
  // Keys first: the node with the smaller key restarts stalled handshakes. The other one runs
  // without keepalive, so adding a peer sends no initiation from it: the smaller node's first
  // initiation reaches it before it knows that peer and is dropped, and nothing else is sent.
  // Only WireGuard's retry (5 s later) or the mesh's restart (1 s) brings the tunnel up.
  const dirs = await Promise.all(
    cluster.hosts.map(() => Deno.makeTempDir({ prefix: "warren-wg-" })),
  );
  const keys = await Promise.all(dirs.map((d) => loadOrCreateNodeKey(d)));
  const [si, li] = keys[0]!.publicKey < keys[1]!.publicKey ? [0, 1] : [1, 0];
  const nodes: TestNode[] = [];
  try {
    for (const [i, keepaliveS] of [[si, undefined], [li, 0]] as const) {
      const nodeId = `node-${crypto.randomUUID().slice(0, 8)}-${i + 1}`;
      const subnet = `10.241.${i + 1}.0/24`;
      const mesh = await Mesh.start({
        nodeId,
        subnet,
        listenPort: PORT,
        dataDir: dirs[i]!,
        netns: cluster.hosts[i]!.name,
        ...(keepaliveS === undefined ? {} : { keepaliveS }),
      });
      nodes.push({ host: cluster.hosts[i]!, mesh, nodeId, subnet, dataDir: dirs[i]! });
    }
    const [small, large] = nodes as [TestNode, TestNode];
    const all = nodes.map((n) => entry(n));
    const t0 = Date.now();
    await small.mesh.setPeers(all);
    // Wait until small's initiation has been sent (its peer exists) and dropped by large.
    await new Promise((r) => setTimeout(r, 200));
    await large.mesh.setPeers(all);
    ok(await pingWithin(small, large.mesh.address, FIRST_PING_MS), "small → large");
    const took = Date.now() - t0;
    ok(took < FIRST_PING_MS, `the tunnel came up after ${took} ms`);
  } finally {
    await closeNodes(nodes);
    for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
  }
});

Deno.test("mesh: a peer's new address is picked up", async () => {
  await using cluster = await createNetnsCluster({ hosts: 2 });
  const nodes = await startNodes(cluster.hosts);
  const [a, b] = nodes as [TestNode, TestNode];
  try {
    await Promise.all(nodes.map((n) => n.mesh.setPeers(nodes.map((x) => entry(x)))));
    ok(await pingWithin(a, b.mesh.address));
    // b moves: a new address on its link, the old one gone.
    const prefix = b.host.address.split(".").slice(0, 3).join(".");
    const moved = `${prefix}.200`;
    // Keep the new (secondary) address when the primary goes.
    await b.host.run(["sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/eth0/promote_secondaries"]);
    await b.host.run(["ip", "addr", "add", `${moved}/24`, "dev", "eth0"]);
    await b.host.run(["ip", "addr", "del", `${b.host.address}/24`, "dev", "eth0"]);
    equal(await ping(a, b.mesh.address), false, "the old endpoint is gone");
    await a.mesh.setPeers([entry(a), entry(b, moved)]);
    // Before any packet from b could have roamed it: a uses the announced address.
    equal((await a.mesh.dump()).peers.get(b.mesh.publicKey)?.endpoint, `${moved}:${PORT}`);
    ok(await pingWithin(a, b.mesh.address), "a → b at its new address");
  } finally {
    await closeNodes(nodes);
  }
});

Deno.test("mesh: wireguard-go is restarted and reconfigured when it dies", async () => {
  await using cluster = await createNetnsCluster({ hosts: 2 });
  const nodes = await startNodes(cluster.hosts);
  const [a, b] = nodes as [TestNode, TestNode];
  try {
    await Promise.all(nodes.map((n) => n.mesh.setPeers(nodes.map((x) => entry(x)))));
    ok(await pingWithin(a, b.mesh.address));
    const oldPid = a.mesh.pid!;
    Deno.kill(oldPid, "SIGKILL");
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (a.mesh.pid === oldPid || !(await ping(a, b.mesh.address)))) {
      await new Promise((r) => setTimeout(r, 50));
    }
    notEqual(a.mesh.pid, oldPid, "a new wireguard-go runs");
    ok(await pingWithin(a, b.mesh.address), "a → b after the restart");
    deepEqual(await routes(a), ["10.241.2.0/24"]);
  } finally {
    await closeNodes(nodes);
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function processAlive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}
