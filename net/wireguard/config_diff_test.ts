import { deepEqual, equal } from "node:assert/strict";
import {
  desiredPeers,
  type DevicePeer,
  diffPeers,
  diffRoutes,
  parseDump,
  parseRoutes,
  type PeerConfig,
  resolveEndpoint,
  stalledFirstHandshakes,
  wgSetArgs,
} from "./config_diff.ts";
import type { OverlayPeer } from "../../proto/schema/dispatch.ts";

const K = (c: string) => c.repeat(43) + "=";
const peer = (nodeId: string, key: string, endpoint: string, subnet: string): OverlayPeer => ({
  nodeId,
  wireguard: { publicKey: key, endpoint, subnet },
});
const self = { nodeId: "n1", publicKey: K("A"), subnet: "10.240.1.0/24" };

Deno.test("parseDump reads the interface line and every peer", () => {
  const d = parseDump(
    [
      `priv\t${K("A")}\t51820\toff`,
      `${K("B")}\t(none)\t10.0.0.2:51820\t10.240.2.0/24\t1700000000\t180\t272\t25`,
      `${K("C")}\t(none)\t(none)\t10.240.4.0/24,10.240.3.0/24\t0\t0\t0\toff`,
      "",
    ].join("\n"),
  );
  equal(d.publicKey, K("A"));
  equal(d.listenPort, 51820);
  deepEqual(d.peers.get(K("B")), {
    publicKey: K("B"),
    endpoint: "10.0.0.2:51820",
    allowedIps: ["10.240.2.0/24"],
    keepaliveS: 25,
    latestHandshakeS: 1700000000,
    rxBytes: 180,
    txBytes: 272,
  });
  const c = d.peers.get(K("C"))!;
  equal(c.endpoint, "");
  deepEqual(c.allowedIps, ["10.240.3.0/24", "10.240.4.0/24"]);
  equal(c.keepaliveS, 0);
});

Deno.test("desiredPeers skips self, duplicate keys and duplicate subnets", () => {
  const { peers, skipped } = desiredPeers([
    peer("n1", K("A"), "10.0.0.1:51820", "10.240.1.0/24"),
    peer("n3", K("C"), "10.0.0.3:51820", "10.240.3.0/24"),
    peer("n2", K("B"), "10.0.0.2:51820", "10.240.2.0/24"),
    peer("n4", K("B"), "10.0.0.4:51820", "10.240.4.0/24"),
    peer("n5", K("E"), "10.0.0.5:51820", "10.240.1.0/24"),
  ], self);
  deepEqual(peers.map((p) => p.nodeId), ["n2", "n3"]);
  deepEqual(peers[0], {
    nodeId: "n2",
    publicKey: K("B"),
    endpoint: "10.0.0.2:51820",
    allowedIps: ["10.240.2.0/24"],
    keepaliveS: 25,
  });
  deepEqual(skipped.map((s) => s.nodeId), ["n4", "n5"]);
});

const dev = (key: string, endpoint: string, allowed: string[], keepaliveS = 25): DevicePeer => ({
  publicKey: key,
  endpoint,
  allowedIps: allowed,
  keepaliveS,
  latestHandshakeS: 0,
  rxBytes: 0,
  txBytes: 0,
});

Deno.test("diffPeers: new, removed, unchanged and changed peers", () => {
  const want = desiredPeers([
    peer("n2", K("B"), "10.0.0.2:51820", "10.240.2.0/24"),
    peer("n3", K("C"), "10.0.0.3:51820", "10.240.3.0/24"),
    peer("n4", K("D"), "10.0.0.4:51820", "10.240.5.0/24"),
  ], self).peers;
  const current = new Map([
    [K("B"), dev(K("B"), "10.0.0.2:51820", ["10.240.2.0/24"])],
    [K("D"), dev(K("D"), "10.0.0.4:51820", ["10.240.4.0/24"], 0)],
    [K("Z"), dev(K("Z"), "10.0.0.9:51820", ["10.240.9.0/24"])],
  ]);
  const applied = new Map([[K("B"), "10.0.0.2:51820"], [K("D"), "10.0.0.4:51820"]]);
  const changes = diffPeers(current, want, applied);
  deepEqual(changes, {
    removed: [K("Z")],
    upserts: [
      {
        publicKey: K("C"),
        endpoint: "10.0.0.3:51820",
        allowedIps: ["10.240.3.0/24"],
        keepaliveS: 25,
      },
      { publicKey: K("D"), allowedIps: ["10.240.5.0/24"], keepaliveS: 25 },
    ],
  });
  deepEqual(wgSetArgs(changes), [
    "peer",
    K("Z"),
    "remove",
    "peer",
    K("C"),
    "endpoint",
    "10.0.0.3:51820",
    "allowed-ips",
    "10.240.3.0/24",
    "persistent-keepalive",
    "25",
    "peer",
    K("D"),
    "allowed-ips",
    "10.240.5.0/24",
    "persistent-keepalive",
    "25",
  ]);
});

Deno.test("diffPeers leaves a roamed endpoint alone but applies a changed announcement", () => {
  const want = desiredPeers([peer("n2", K("B"), "10.0.0.2:51820", "10.240.2.0/24")], self).peers;
  // The peer roamed (NAT rebinding): the device learned 192.0.2.7:40000 by itself.
  const roamed = new Map([[K("B"), dev(K("B"), "192.0.2.7:40000", ["10.240.2.0/24"])]]);
  const applied = new Map([[K("B"), "10.0.0.2:51820"]]);
  deepEqual(diffPeers(roamed, want, applied), { removed: [], upserts: [] });
  // The node announces a new address: it wins over the roamed one.
  const moved = desiredPeers([peer("n2", K("B"), "10.0.0.7:51820", "10.240.2.0/24")], self).peers;
  deepEqual(diffPeers(roamed, moved, applied).upserts, [
    { publicKey: K("B"), endpoint: "10.0.0.7:51820" },
  ]);
  // After a restart nothing was applied yet: the announced endpoint is set again.
  deepEqual(diffPeers(roamed, want, new Map()).upserts, [
    { publicKey: K("B"), endpoint: "10.0.0.2:51820" },
  ]);
});

Deno.test("diffPeers of identical state is empty and renders no arguments", () => {
  const want = desiredPeers([peer("n2", K("B"), "10.0.0.2:51820", "10.240.2.0/24")], self).peers;
  const current = new Map([[K("B"), dev(K("B"), "10.0.0.2:51820", ["10.240.2.0/24"])]]);
  const changes = diffPeers(current, want, new Map([[K("B"), "10.0.0.2:51820"]]));
  deepEqual(changes, { removed: [], upserts: [] });
  deepEqual(wgSetArgs(changes), []);
});

Deno.test("diffRoutes and parseRoutes", () => {
  const want = desiredPeers([
    peer("n2", K("B"), "10.0.0.2:51820", "10.240.2.0/24"),
    peer("n3", K("C"), "10.0.0.3:51820", "10.240.3.0/24"),
  ], self).peers;
  const current = parseRoutes(
    '[{"dst":"10.240.2.0/24","scope":"link","prefsrc":"10.240.1.0"},' +
      '{"dst":"10.240.9.0/24","scope":"link"},{"dst":"10.1.1.1","scope":"link"}]',
  );
  deepEqual(current, ["10.240.2.0/24", "10.240.9.0/24", "10.1.1.1/32"]);
  deepEqual(diffRoutes(current, want), {
    add: ["10.240.3.0/24"],
    del: ["10.1.1.1/32", "10.240.9.0/24"],
  });
  deepEqual(parseRoutes(""), []);
});

Deno.test("resolveEndpoint resolves names and keeps IPs", async () => {
  const lookup = (h: string) => Promise.resolve(h === "node-b" ? "10.0.0.2" : undefined);
  equal(await resolveEndpoint("10.0.0.1:51820", lookup), "10.0.0.1:51820");
  equal(await resolveEndpoint("node-b:51820", lookup), "10.0.0.2:51820");
  equal(await resolveEndpoint("unknown:51820", lookup), "unknown:51820");
});

Deno.test("stalledFirstHandshakes: the smaller key re-creates new peers with no handshake", () => {
  const cfg = (key: string, endpoint = "10.0.0.9:51820"): PeerConfig => ({
    nodeId: `n-${key[0]}`,
    publicKey: key,
    endpoint,
    allowedIps: ["10.240.9.0/24"],
    keepaliveS: 25,
  });
  const dev = (key: string, latestHandshakeS: number): [string, DevicePeer] => [key, {
    publicKey: key,
    endpoint: "10.0.0.9:51820",
    allowedIps: ["10.240.9.0/24"],
    keepaliveS: 25,
    latestHandshakeS,
    rxBytes: 0,
    txBytes: 0,
  }];
  const selfKey = K("M");
  const desired = [cfg(K("B")), cfg(K("X")), cfg(K("Y")), cfg(K("Z"), ""), cfg(K("W"))];
  const device = new Map([
    dev(K("B"), 0), // smaller key than self: the other side re-creates
    dev(K("X"), 0), // stalled: re-created
    dev(K("Y"), 1_700_000_000), // handshake done
    dev(K("Z"), 0), // no endpoint to initiate to
    dev(K("W"), 0), // not among the peers just added
  ]);
  const added = [K("B"), K("X"), K("Y"), K("Z"), K("Q")]; // Q: since removed from the device
  deepEqual(stalledFirstHandshakes(selfKey, added, device, desired), [cfg(K("X"))]);
  // From the other side of the same pairs, it is B's turn (B < M).
  deepEqual(
    stalledFirstHandshakes(K("B"), [selfKey], new Map([dev(selfKey, 0)]), [cfg(selfKey)]),
    [cfg(selfKey)],
  );
});
