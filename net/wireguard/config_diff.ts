/**
 * Pure WireGuard configuration diffing: what the node's peers should be (from the managers'
 * overlay peer list), what the device has (`wg show <if> dump`), and the one `wg set` command
 * and the route changes that turn the latter into the former. No I/O here.
 * @module
 */
import type { OverlayPeer } from "../../proto/schema/dispatch.ts";
import { splitHostPort } from "../../proto/schema/common.ts";

/** Keepalive that holds NAT mappings open so nodes behind NAT stay reachable (seconds). */
export const DEFAULT_KEEPALIVE_S = 25;

/** One peer as the device should have it. */
export interface PeerConfig {
  /** The peer's node ID (for logs; the device knows only keys). */
  nodeId: string;
  publicKey: string;
  /** `ip:port` (IPv6 in brackets), as `wg show dump` prints it; empty for none. */
  endpoint: string;
  /** Sorted CIDRs routed to this peer: its node's task subnet. */
  allowedIps: string[];
  keepaliveS: number;
}

/** One peer as the device has it. */
export interface DevicePeer {
  publicKey: string;
  endpoint: string;
  allowedIps: string[];
  keepaliveS: number;
  /** Seconds since the epoch of the last handshake; 0 = never. */
  latestHandshakeS: number;
  rxBytes: number;
  txBytes: number;
}

/** What `wg show <if> dump` says about the device. */
export interface DeviceDump {
  publicKey: string;
  listenPort: number;
  peers: Map<string, DevicePeer>;
}

/** Parses `wg show <if> dump`: an interface line, then one tab-separated line per peer. */
export function parseDump(text: string): DeviceDump {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const head = (lines.shift() ?? "").split("\t");
  const peers = new Map<string, DevicePeer>();
  for (const line of lines) {
    const f = line.split("\t");
    if (f.length < 8) continue;
    const [publicKey, , endpoint, allowed, handshake, rx, tx, keepalive] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    peers.set(publicKey, {
      publicKey,
      endpoint: endpoint === "(none)" ? "" : endpoint,
      allowedIps: allowed === "(none)" ? [] : allowed.split(",").sort(),
      keepaliveS: keepalive === "off" ? 0 : Number(keepalive),
      latestHandshakeS: Number(handshake),
      rxBytes: Number(rx),
      txBytes: Number(tx),
    });
  }
  return { publicKey: head[1] ?? "", listenPort: Number(head[2] ?? 0), peers };
}

/** The own node, whose entry in the peer list is skipped. */
export interface Self {
  nodeId: string;
  publicKey: string;
  subnet: string;
}

/** Why a peer from the managers' list was left out. */
export interface SkippedPeer {
  nodeId: string;
  reason: string;
}

/**
 * The device's desired peers: every other node with its subnet as allowed-ips. `endpoint` must
 * already be `ip:port` (see {@link resolveEndpoint}). A second node announcing a key or a subnet
 * already taken is skipped (WireGuard would silently move the key's or subnet's traffic to it).
 */
export function desiredPeers(
  peers: readonly OverlayPeer[],
  self: Self,
  keepaliveS = DEFAULT_KEEPALIVE_S,
): { peers: PeerConfig[]; skipped: SkippedPeer[] } {
  const out: PeerConfig[] = [];
  const skipped: SkippedPeer[] = [];
  const keys = new Set([self.publicKey]);
  const subnets = new Set([self.subnet]);
  for (const p of [...peers].sort((a, b) => a.nodeId.localeCompare(b.nodeId))) {
    if (p.nodeId === self.nodeId) continue;
    const w = p.wireguard;
    if (keys.has(w.publicKey)) {
      skipped.push({ nodeId: p.nodeId, reason: `public key ${w.publicKey} is already in use` });
      continue;
    }
    if (subnets.has(w.subnet)) {
      skipped.push({ nodeId: p.nodeId, reason: `subnet ${w.subnet} is already routed` });
      continue;
    }
    keys.add(w.publicKey);
    subnets.add(w.subnet);
    out.push({
      nodeId: p.nodeId,
      publicKey: w.publicKey,
      endpoint: w.endpoint,
      allowedIps: [w.subnet],
      keepaliveS,
    });
  }
  return { peers: out, skipped };
}

/** Rewrites `host:port` to `ip:port` with `lookup`; IP endpoints are returned as they are. */
export async function resolveEndpoint(
  endpoint: string,
  lookup: (host: string) => Promise<string | undefined>,
): Promise<string> {
  const hp = splitHostPort(endpoint);
  if (!hp) return endpoint;
  if (/^[\d.]+$/.test(hp.host) || hp.host.includes(":")) {
    return hp.host.includes(":") ? `[${hp.host}]:${hp.port}` : endpoint;
  }
  const ip = await lookup(hp.host);
  return ip === undefined ? endpoint : `${ip}:${hp.port}`;
}

/** The arguments after `wg set <if>` for a set of peer changes, or [] when there are none. */
export interface PeerChanges {
  /** Keys to remove. */
  removed: string[];
  /** Peers to add or update, with only the fields that change. */
  upserts: {
    publicKey: string;
    endpoint?: string;
    allowedIps?: string[];
    keepaliveS?: number;
  }[];
}

/**
 * What to change on the device. Endpoints are compared with `appliedEndpoints` (the endpoint this
 * node last configured per key), not with the dump: WireGuard updates a peer's endpoint itself when
 * the peer roams (a NAT rebinding), and resetting it to the announced address on every update
 * would break exactly the NAT case the keepalive is for. A changed announcement, a new peer or a
 * peer with no endpoint at all get the announced one.
 */
export function diffPeers(
  current: ReadonlyMap<string, DevicePeer>,
  desired: readonly PeerConfig[],
  appliedEndpoints: ReadonlyMap<string, string> = new Map(),
): PeerChanges {
  const want = new Map(desired.map((p) => [p.publicKey, p]));
  const removed = [...current.keys()].filter((k) => !want.has(k)).sort();
  const upserts: PeerChanges["upserts"] = [];
  for (const p of desired) {
    const cur = current.get(p.publicKey);
    const change: PeerChanges["upserts"][number] = { publicKey: p.publicKey };
    const endpointStale = cur === undefined || cur.endpoint === "" ||
      appliedEndpoints.get(p.publicKey) !== p.endpoint;
    if (endpointStale && p.endpoint !== "") change.endpoint = p.endpoint;
    const allowed = [...p.allowedIps].sort();
    if (cur === undefined || cur.allowedIps.join(",") !== allowed.join(",")) {
      change.allowedIps = allowed;
    }
    if (cur === undefined || cur.keepaliveS !== p.keepaliveS) change.keepaliveS = p.keepaliveS;
    if (Object.keys(change).length > 1) upserts.push(change);
  }
  return { removed, upserts };
}

/** Renders changes as the arguments that follow `wg set <if>` (one command for all of them). */
export function wgSetArgs(changes: PeerChanges): string[] {
  const args: string[] = [];
  for (const key of changes.removed) args.push("peer", key, "remove");
  for (const u of changes.upserts) {
    args.push("peer", u.publicKey);
    if (u.endpoint !== undefined) args.push("endpoint", u.endpoint);
    if (u.allowedIps !== undefined) args.push("allowed-ips", u.allowedIps.join(","));
    if (u.keepaliveS !== undefined) args.push("persistent-keepalive", String(u.keepaliveS));
  }
  return args;
}

/** Routes to add and delete on the overlay interface, given the routes it has now. */
export function diffRoutes(
  current: readonly string[],
  desired: readonly PeerConfig[],
): { add: string[]; del: string[] } {
  const want = new Set(desired.flatMap((p) => p.allowedIps));
  const have = new Set(current);
  return {
    add: [...want].filter((d) => !have.has(d)).sort(),
    del: [...have].filter((d) => !want.has(d)).sort(),
  };
}

/** Destinations of `ip -j route show dev <if>` output (`10.240.3.0/24`; a host is `/32`). */
export function parseRoutes(json: string): string[] {
  const rows = JSON.parse(json || "[]") as { dst?: string }[];
  return rows.flatMap((r) => {
    if (!r.dst || r.dst === "default") return [];
    return [r.dst.includes("/") ? r.dst : `${r.dst}/32`];
  });
}

/**
 * How long after adding peers the node looks for first handshakes that did not happen. On a LAN
 * a handshake takes one round trip (well under 1 ms here); edge links take tens to hundreds.
 */
export const FIRST_HANDSHAKE_CHECK_MS = 1000;

/**
 * Which of the peers just added (`added` keys) this node must re-create to restart a first
 * handshake that did not happen: those with no handshake yet, an endpoint to send to, and a
 * public key greater than this node's.
 *
 * Why: both nodes of a new pair initiate at once (the keepalive turned on with a new peer sends
 * one). When the two initiations cross in flight, each node answers the other's and drops its
 * own, so each response arrives at a node that no longer waits for it ("invalid response
 * message"), and both wait for a transport packet that never comes. WireGuard retries only after
 * REKEY_TIMEOUT (5 s), and no new initiation goes out before that: measured here, 6 of 10 fresh
 * three-node meshes lost 5 s on at least one pair. Re-creating the peer resets that timer and
 * sends one initiation alone. Only the node with the smaller key does it, so the two sides do not
 * cross again.
 */
export function stalledFirstHandshakes(
  selfKey: string,
  added: readonly string[],
  device: ReadonlyMap<string, DevicePeer>,
  desired: readonly PeerConfig[],
): PeerConfig[] {
  const want = new Map(desired.map((p) => [p.publicKey, p]));
  return added.flatMap((key) => {
    const p = want.get(key);
    const cur = device.get(key);
    if (!p || !cur || key <= selfKey || p.endpoint === "" || cur.latestHandshakeS !== 0) return [];
    return [p];
  });
}
