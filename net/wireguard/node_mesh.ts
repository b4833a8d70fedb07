/**
 * The daemon's entry point to the overlay: starts this node's {@link Mesh}, says what the node
 * announces to the managers (RegisterRequest.wireguard) and applies the overlay part of every
 * AssignmentsMessage (peers, removedPeerIds). net/ never imports worker/: the daemon passes
 * `apply` to `worker.onAssignments`.
 *
 *   warren join ──(JoinRequest.wireguardPublicKey = nodePublicKey(dataDir))──▶ manager
 *        ◀──────────────(JoinResponse.subnet)───────────────────────────────────┘
 *   startNodeMesh({subnet}) ──▶ RegisterRequest.wireguard = nodeMesh.wireguard
 *   worker.onAssignments(m ──▶ nodeMesh.apply(m)) ──▶ mesh.setPeers(all known peers)
 *
 * The subnet and port are remembered in `<dataDir>/wireguard/mesh.json`, so a node restarted
 * without a join response (`warren join` on a joined data dir, `warren worker start`) finds them;
 * the peers last applied in `peers.json`, which a restart configures before any manager answers.
 * @module
 */
import { detectOverlayMtu } from "./overlay_mtu.ts";
import { join } from "node:path";
import { z } from "zod";
import { ValidationError } from "../../proto/errors.ts";
import { logger } from "../../proto/log.ts";
import { isIpv6 } from "../../proto/schema/common.ts";
import { type OverlayPeer, OverlayPeerSchema } from "../../proto/schema/dispatch.ts";
import type { NodeWireGuard } from "../../proto/schema/node.ts";
import type { DeviceMode } from "./device.ts";
import { loadOrCreateNodeKey, wireguardDir } from "./keys.ts";
import { Mesh } from "./mesh.ts";

/** WireGuard's customary port. */
export const DEFAULT_WIREGUARD_PORT = 51820;

/** How soon a failed update is tried again when no newer message comes. */
const RETRY_MS = 5_000;

/** Options of {@link startNodeMesh}. */
export interface NodeMeshOptions {
  nodeId: string;
  /** The node's data directory (the key and mesh.json go to `<dataDir>/wireguard/`). */
  dataDir: string;
  /** Task subnet from JoinResponse.subnet; default the one remembered from an earlier start. */
  subnet?: string;
  /** Address peers send to (the node's advertise address). */
  advertiseAddr: string;
  /** UDP port; default the remembered one, else {@link DEFAULT_WIREGUARD_PORT}. */
  listenPort?: number;
  /** Network namespace for the device (tests); default the current one. */
  netns?: string;
  mode?: DeviceMode;
  interfaceName?: string;
  /** The device's MTU; default from the uplink holding `advertiseAddr` (overlay_mtu.ts). */
  mtu?: number;
}

/** The overlay part of an AssignmentsMessage. */
export interface OverlayUpdate {
  /** The message lists the whole state: peers not listed are gone. */
  complete?: boolean;
  peers: readonly OverlayPeer[];
  removedPeerIds: readonly string[];
}

/** A started node mesh. */
export interface NodeMesh extends AsyncDisposable {
  /** What to put in RegisterRequest.wireguard. */
  readonly wireguard: NodeWireGuard;
  readonly mesh: Mesh;
  /** Applies a message's peers; never rejects (failures are logged and retried). */
  apply(msg: OverlayUpdate): Promise<void>;
  /** Removes the interface, its routes and wireguard-go. */
  close(): Promise<void>;
}

interface Remembered {
  subnet: string;
  listenPort: number;
}

const log = logger("wireguard");

function statePath(dataDir: string): string {
  return join(wireguardDir(dataDir), "mesh.json");
}

function peersPath(dataDir: string): string {
  return join(wireguardDir(dataDir), "peers.json");
}

/** The peers saved by the last run (none if unreadable: the managers send them again). */
async function readPeers(dataDir: string): Promise<OverlayPeer[]> {
  try {
    return z.array(OverlayPeerSchema).parse(
      JSON.parse(await Deno.readTextFile(peersPath(dataDir))),
    );
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      log.warn("ignoring the saved overlay peers", { err });
    }
    return [];
  }
}

/** Saves the peers for the next start (best effort). */
async function writePeers(dataDir: string, peers: OverlayPeer[]): Promise<void> {
  const path = peersPath(dataDir);
  try {
    await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(peers), { mode: 0o600 });
    await Deno.rename(`${path}.tmp`, path);
  } catch (err) {
    log.warn("cannot save the overlay peers", { err });
  }
}

async function readRemembered(dataDir: string): Promise<Partial<Remembered>> {
  try {
    return JSON.parse(await Deno.readTextFile(statePath(dataDir))) as Partial<Remembered>;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return {};
    throw err;
  }
}

/**
 * The node's WireGuard public key, creating the key pair on first use: what `warren join` sends
 * as JoinRequest.wireguardPublicKey before it knows its subnet.
 */
export async function nodePublicKey(dataDir: string): Promise<string> {
  return (await loadOrCreateNodeKey(dataDir)).publicKey;
}

/** `host:port` with IPv6 hosts in brackets. */
export function endpointOf(host: string, port: number): string {
  return isIpv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Starts the node's mesh interface (no peers until the first {@link NodeMesh.apply}). */
export async function startNodeMesh(o: NodeMeshOptions): Promise<NodeMesh> {
  const remembered = await readRemembered(o.dataDir);
  const subnet = o.subnet ?? remembered.subnet;
  if (!subnet) {
    throw new ValidationError(
      "subnet",
      `no task subnet for node ${o.nodeId}: ${statePath(o.dataDir)} is missing; rejoin the cluster`,
    );
  }
  const listenPort = o.listenPort ?? remembered.listenPort ?? DEFAULT_WIREGUARD_PORT;
  const mesh = await Mesh.start({
    nodeId: o.nodeId,
    subnet,
    listenPort,
    dataDir: o.dataDir,
    ...(o.netns ? { netns: o.netns } : {}),
    ...(o.mode ? { mode: o.mode } : {}),
    ...(o.interfaceName ? { interfaceName: o.interfaceName } : {}),
    mtu: o.mtu ?? await detectOverlayMtu(o.advertiseAddr, o.netns),
  });
  try {
    const state: Remembered = { subnet, listenPort };
    await Deno.writeTextFile(statePath(o.dataDir), JSON.stringify(state) + "\n", { mode: 0o600 });
  } catch (err) {
    await mesh.close();
    throw err;
  }
  // A restarted node keeps its peers until a manager answers (or while none does): the tasks
  // it re-adopts keep reaching other nodes' tasks.
  const known = new Map((await readPeers(o.dataDir)).map((p) => [p.nodeId, p]));
  let saving = Promise.resolve();
  let retry: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const push = async (): Promise<void> => {
    clearTimeout(retry);
    retry = undefined;
    if (closed) return;
    try {
      await mesh.setPeers([...known.values()]);
    } catch (err) {
      if (closed) return;
      log.error("cannot update overlay peers; retrying", { err });
      retry = setTimeout(() => void push(), RETRY_MS);
    }
  };
  const wireguard: NodeWireGuard = {
    publicKey: mesh.publicKey,
    endpoint: endpointOf(o.advertiseAddr, listenPort),
    subnet,
  };
  if (known.size > 0) await push();
  const nodeMesh: NodeMesh = {
    wireguard,
    mesh,
    apply(msg) {
      if (!msg.complete && msg.peers.length === 0 && msg.removedPeerIds.length === 0) {
        return Promise.resolve();
      }
      if (msg.complete) known.clear();
      for (const id of msg.removedPeerIds) known.delete(id);
      for (const p of msg.peers) known.set(p.nodeId, p);
      // One save at a time, each of the newest list (messages may overlap).
      saving = saving.then(() => writePeers(o.dataDir, [...known.values()]));
      return saving.then(push);
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      await mesh.close();
    },
    [Symbol.asyncDispose]() {
      return nodeMesh.close();
    },
  };
  return nodeMesh;
}
