/**
 * The node's end of the WireGuard mesh: one interface, one peer per other node (its task subnet
 * as allowed-ips, persistent keepalive for NAT), and a route per peer subnet through the tunnel.
 *
 *   setPeers(list) ──▶ desiredPeers (skip self, duplicates) ──▶ diff vs `wg show <if> dump`
 *        │                                                       └─▶ one `wg set <if> peer ...`
 *        └──▶ diff vs `ip -j route show dev <if>` ──▶ ip route replace/del
 *
 * Updates are serialized; each one converges the device to the newest list, so overlapping
 * calls are safe. If wireguard-go dies, the mesh re-creates the device and re-applies the list.
 * A second after adding peers, it re-creates those whose first handshake was lost to crossed
 * initiations (see stalledFirstHandshakes), instead of waiting 5 s for WireGuard's retry.
 * @module
 */
import { ValidationError } from "../../proto/errors.ts";
import { logger } from "../../proto/log.ts";
import type { OverlayPeer } from "../../proto/schema/dispatch.ts";
import { Runner } from "./_exec.ts";
import {
  DEFAULT_KEEPALIVE_S,
  desiredPeers,
  type DeviceDump,
  diffPeers,
  diffRoutes,
  FIRST_HANDSHAKE_CHECK_MS,
  parseDump,
  parseRoutes,
  type PeerConfig,
  resolveEndpoint,
  stalledFirstHandshakes,
  wgSetArgs,
} from "./config_diff.ts";
import { type Device, type DeviceMode, openDevice } from "./device.ts";
import { interfaceName, overlayAddress, validateInterfaceName } from "./interface_name.ts";
import { loadOrCreateNodeKey } from "./keys.ts";

/** WireGuard's usual MTU under a 1500-byte underlay (80 bytes of IPv6+UDP+WireGuard overhead). */
export const DEFAULT_MTU = 1420;

/** Options of {@link Mesh.start}. */
export interface MeshOptions {
  nodeId: string;
  /** This node's task subnet, e.g. `10.240.3.0/24`. */
  subnet: string;
  /** UDP port WireGuard listens on. */
  listenPort: number;
  /** Holds `wireguard/private.key`. */
  dataDir: string;
  /** Default derived from the node ID ({@link interfaceName}). */
  interfaceName?: string;
  /** Run the device in this network namespace (test hosts); default the current one. */
  netns?: string;
  /** Default auto: kernel WireGuard if available, else wireguard-go. */
  mode?: DeviceMode;
  mtu?: number;
  keepaliveS?: number;
  /** Resolves endpoint host names to IPv4; default DNS A records. */
  lookup?: (host: string) => Promise<string | undefined>;
}

const log = logger("wireguard");

async function dnsLookup(host: string): Promise<string | undefined> {
  try {
    return (await Deno.resolveDns(host, "A"))[0];
  } catch {
    return undefined;
  }
}

/** A node's WireGuard mesh interface. Start with {@link Mesh.start}; close when done. */
export class Mesh implements AsyncDisposable {
  /** The node's public key (what other nodes configure for it). */
  readonly publicKey: string;
  /** The interface name. */
  readonly interfaceName: string;
  /** This node's address on the interface (its subnet's network address). */
  readonly address: string;
  /** The device's MTU (what task interfaces must fit in). */
  readonly mtu: number;
  readonly #o: MeshOptions;
  readonly #runner: Runner;
  readonly #privateKeyPath: string;
  #device: Device;
  #desired: readonly OverlayPeer[] = [];
  /** Endpoint this node last configured per key (roaming must not be undone; see diffPeers). */
  #appliedEndpoints = new Map<string, string>();
  #chain: Promise<unknown> = Promise.resolve();
  /** The peers the last apply configured (resolved endpoints), by key. */
  #applied = new Map<string, PeerConfig>();
  readonly #checks = new Set<ReturnType<typeof setTimeout>>();
  #closed = false;
  #restartDelayMs = 500;

  private constructor(
    o: MeshOptions,
    runner: Runner,
    privateKeyPath: string,
    publicKey: string,
    device: Device,
  ) {
    this.#o = o;
    this.mtu = o.mtu ?? DEFAULT_MTU;
    this.#runner = runner;
    this.#privateKeyPath = privateKeyPath;
    this.publicKey = publicKey;
    this.interfaceName = device.name;
    this.address = overlayAddress(o.subnet);
    this.#device = device;
  }

  /** Creates the key (first run), the interface, its address and listen port; no peers yet. */
  static async start(o: MeshOptions): Promise<Mesh> {
    if (!Number.isInteger(o.listenPort) || o.listenPort < 1 || o.listenPort > 65_535) {
      throw new ValidationError("listenPort", `${o.listenPort} must be 1-65535`);
    }
    const address = overlayAddress(o.subnet);
    const name = validateInterfaceName(o.interfaceName ?? interfaceName(o.nodeId));
    const runner = new Runner(o.netns);
    const key = await loadOrCreateNodeKey(o.dataDir);
    // The device reports wireguard-go's death to the mesh, which exists only after the device.
    const owner: { mesh?: Mesh } = {};
    const device = await openDevice({
      name,
      runner,
      ...(o.mode ? { mode: o.mode } : {}),
      onExit: () => {
        if (owner.mesh) owner.mesh.#onDeviceExit();
      },
    });
    const mesh = new Mesh(o, runner, key.privateKeyPath, key.publicKey, device);
    owner.mesh = mesh;
    try {
      await mesh.#configure();
    } catch (err) {
      await device.close().catch(() => {});
      throw err;
    }
    log.info("overlay interface up", {
      name,
      kind: device.kind,
      address,
      listenPort: o.listenPort,
      publicKey: key.publicKey,
    });
    return mesh;
  }

  /** kernel or userspace (wireguard-go). */
  get kind(): "kernel" | "userspace" {
    return this.#device.kind;
  }

  /** wireguard-go's pid (userspace devices). */
  get pid(): number | undefined {
    return this.#device.pid;
  }

  async #configure(): Promise<void> {
    const name = this.#device.name;
    const o = this.#o;
    await this.#runner.must([
      "wg",
      "set",
      name,
      "private-key",
      this.#privateKeyPath,
      "listen-port",
      String(o.listenPort),
    ]);
    await this.#runner.must(["ip", "addr", "replace", `${this.address}/32`, "dev", name]);
    await this.#runner.must([
      "ip",
      "link",
      "set",
      "dev",
      name,
      "mtu",
      String(this.mtu),
      "up",
    ]);
  }

  /**
   * Makes the device's peers and routes match `peers` (every node's overlay entry; this node's
   * own entry and conflicting duplicates are skipped). Resolves once applied.
   */
  setPeers(peers: readonly OverlayPeer[]): Promise<void> {
    this.#desired = [...peers];
    return this.#enqueue(() => this.#apply());
  }

  /** The device's current state (`wg show <if> dump`). */
  async dump(): Promise<DeviceDump> {
    return parseDump(await this.#runner.must(["wg", "show", this.#device.name, "dump"]));
  }

  #enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(fn);
    this.#chain = run.catch(() => {});
    return run;
  }

  async #apply(): Promise<void> {
    if (this.#closed) return;
    const o = this.#o;
    const lookup = o.lookup ?? dnsLookup;
    const resolved = await Promise.all(this.#desired.map(async (p) => ({
      nodeId: p.nodeId,
      wireguard: { ...p.wireguard, endpoint: await resolveEndpoint(p.wireguard.endpoint, lookup) },
    })));
    const { peers, skipped } = desiredPeers(
      resolved,
      { nodeId: o.nodeId, publicKey: this.publicKey, subnet: o.subnet },
      o.keepaliveS ?? DEFAULT_KEEPALIVE_S,
    );
    for (const s of skipped) log.warn("overlay peer skipped", { ...s });
    const name = this.#device.name;
    const current = await this.dump();
    const changes = diffPeers(current.peers, peers, this.#appliedEndpoints);
    const args = wgSetArgs(changes);
    if (args.length > 0) await this.#runner.must(["wg", "set", name, ...args]);
    for (const k of changes.removed) this.#appliedEndpoints.delete(k);
    for (const u of changes.upserts) {
      if (u.endpoint !== undefined) this.#appliedEndpoints.set(u.publicKey, u.endpoint);
    }
    this.#applied = new Map(peers.map((p) => [p.publicKey, p]));
    const added = changes.upserts.map((u) => u.publicKey).filter((k) => !current.peers.has(k));
    if (added.length > 0) this.#checkFirstHandshakes(added);
    const routes = parseRoutes(
      await this.#runner.must(["ip", "-4", "-j", "route", "show", "dev", name]),
    );
    const r = diffRoutes(routes, peers);
    for (const dst of r.del) await this.#runner.must(["ip", "route", "del", dst, "dev", name]);
    for (const dst of r.add) {
      await this.#runner.must(["ip", "route", "replace", dst, "dev", name, "src", this.address]);
    }
    if (args.length > 0 || r.add.length > 0 || r.del.length > 0) {
      log.info("overlay peers updated", {
        name,
        peers: peers.length,
        removed: changes.removed.length,
        changed: changes.upserts.length,
        routesAdded: r.add,
        routesDeleted: r.del,
      });
    }
  }

  /** In {@link FIRST_HANDSHAKE_CHECK_MS}, re-creates the `added` peers whose handshake stalled. */
  #checkFirstHandshakes(added: string[]): void {
    const timer = setTimeout(() => {
      this.#checks.delete(timer);
      this.#enqueue(async () => {
        if (this.#closed) return;
        const stalled = stalledFirstHandshakes(
          this.publicKey,
          added,
          (await this.dump()).peers,
          [...this.#applied.values()],
        );
        if (stalled.length === 0) return;
        const name = this.#device.name;
        // Removing drops the peer's handshake state and its 5 s initiation timer; adding it back
        // (keepalive on) sends a fresh initiation.
        await this.#runner.must([
          "wg",
          "set",
          name,
          ...stalled.flatMap((p) => ["peer", p.publicKey, "remove"]),
        ]);
        await this.#runner.must([
          "wg",
          "set",
          name,
          ...wgSetArgs({
            removed: [],
            upserts: stalled.map((p) => ({
              publicKey: p.publicKey,
              endpoint: p.endpoint,
              allowedIps: p.allowedIps,
              keepaliveS: p.keepaliveS,
            })),
          }),
        ]);
        log.info("overlay handshake restarted", {
          name,
          peers: stalled.map((p) => p.nodeId),
          reason: "no first handshake within 1 s",
        });
      }).catch((err) => log.warn("cannot restart an overlay handshake", { err }));
    }, FIRST_HANDSHAKE_CHECK_MS);
    this.#checks.add(timer);
  }

  /** wireguard-go died: re-create the device, re-apply everything (backoff up to 30 s). */
  #onDeviceExit(): void {
    if (this.#closed) return;
    this.#enqueue(async () => {
      while (!this.#closed) {
        try {
          await this.#device.close();
          this.#device = await openDevice({
            name: this.interfaceName,
            runner: this.#runner,
            ...(this.#o.mode ? { mode: this.#o.mode } : {}),
            onExit: () => this.#onDeviceExit(),
          });
          this.#appliedEndpoints = new Map();
          await this.#configure();
          await this.#apply();
          log.info("overlay interface re-created", { name: this.interfaceName });
          this.#restartDelayMs = 500;
          return;
        } catch (err) {
          log.error("cannot re-create the overlay interface; retrying", { err });
          await new Promise((r) => setTimeout(r, this.#restartDelayMs));
          this.#restartDelayMs = Math.min(this.#restartDelayMs * 2, 30_000);
        }
      }
    });
  }

  /** Removes the interface (and with it its routes) and stops wireguard-go. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#checks) clearTimeout(t);
    this.#checks.clear();
    await this.#chain;
    await this.#device.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
