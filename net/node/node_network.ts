/**
 * One node's whole data plane, as the worker needs it: task networks (CNI), service VIPs and
 * ingress ports (nat rules), and the resolver on the bridge gateway.
 *
 * ```
 *  open ─▶ TaskNetworks (bridge, forward chain) ─▶ ServiceProxy (nat chains) ─▶ DnsServer
 *          + <dataDir>/net/resolv.conf (nameserver = gateway)
 *  attachTask(t)  ─▶ netns + CNI ADD (host-mode ports through portmap) ─▶ {netnsPath, ip, resolvConfPath}
 *  apply(msg)     ─▶ endpoints (complete / upserts + removals) ─▶ syncServices + DNS records
 *                    (saved in <dataDir>/net/endpoints.json: a restart with kept tasks reapplies it)
 *                    + 127.0.0.1 listeners for the ingress TCP ports (LoopbackForwarder)
 *  drainTask(t)   ─▶ t's IP out of VIPs + DNS now ─▶ wait drainDelayMs (other nodes catch up)
 *  detachTask(t)  ─▶ CNI DEL + netns delete
 *  every 30 s     ─▶ forward chain + every nat chain and jump rewritten (host rules flushed?)
 *  close          ─▶ resolver, nat chains, task networks, bridge, portmap chains if unused
 * ```
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import {
  type AssignmentsMessage,
  type Port,
  type ServiceEndpoint,
  ServiceEndpointSchema,
} from "../../proto/schema/mod.ts";
import { type Logger, logger } from "../../proto/log.ts";
import { TaskNetworks } from "../cni/task_network.ts";
import { containerResolvConf } from "../dns/resolv_conf.ts";
import { DnsServer } from "../dns/server.ts";
import type { Upstream } from "../dns/upstreams.ts";
import type { FirewallBackend } from "../host/firewall_backend.ts";
import { hostPortMappings, removeEmptyPortmapChains } from "../ports/host_ports.ts";
import { LoopbackForwarder } from "../ports/loopback_forwarder.ts";
import { ServiceProxy } from "../vip/service_proxy.ts";

/** Options of {@link NodeNetwork.open}. */
export interface NodeNetworkOptions {
  nodeId: string;
  /** The node's task subnet (JoinResponse.subnet). */
  subnet: string;
  /** The cluster CIDR (all nodes' subnets); default the node subnet. */
  clusterCidr?: string;
  /** The worker's data dir: `cni/` and `net/` go under it. */
  dataDir: string;
  /** Resolver port on the gateway; default 53 (containers can only use 53). 0: any (tests). */
  dnsPort?: number;
  /** Default: the host's resolv.conf. */
  dnsUpstreams?: Upstream[];
  cniPath?: string;
  /** Default: detected (iptables, else nft). */
  backend?: FirewallBackend;
  /**
   * MTU of the task interfaces (veth pair and bridge). With the WireGuard mesh on, the mesh's
   * MTU (1420): a task sending 1500-byte packets to another node would otherwise depend on
   * fragmentation or PMTU discovery through the tunnel. Default: the kernel's (1500).
   */
  mtu?: number;
  /**
   * How long {@link NodeNetwork.drainTask} waits after removing a task locally, for the other
   * nodes to apply the same removal (it comes from the managers in the message that stops the
   * task). Default 500 ms.
   */
  drainDelayMs?: number;
  /**
   * How often the node's forward and service rules are rewritten in full from the endpoints it
   * knows, whatever the kernel holds: a firewall reload or `iptables -F` removed them, or an
   * update failed (the xtables lock was busy). Default 30 s; 0: never.
   */
  resyncIntervalMs?: number;
}

/** Default of {@link NodeNetworkOptions.drainDelayMs}. */
export const DEFAULT_DRAIN_DELAY_MS = 500;
/** Default of {@link NodeNetworkOptions.resyncIntervalMs}. */
export const DEFAULT_RESYNC_INTERVAL_MS = 30_000;

/** What a task gets from {@link NodeNetwork.attachTask}. */
export interface AttachedTask {
  netnsPath: string;
  ip: string;
  gateway: string;
  /** Bind-mount it read-only at /etc/resolv.conf in the container. */
  resolvConfPath: string;
}

/** See the module doc. */
export class NodeNetwork {
  readonly tasks: TaskNetworks;
  readonly proxy: ServiceProxy;
  readonly dns: DnsServer;
  readonly resolvConfPath: string;
  /** Serves the ingress ports on 127.0.0.1 too (the nat rules cannot). */
  readonly loopback: LoopbackForwarder;
  readonly #endpoints = new Map<string, ServiceEndpoint>();
  /** Task ID → IP of local tasks being stopped: kept out of VIPs and DNS until detached. */
  readonly #draining = new Map<string, string>();
  readonly #drainDelayMs: number;
  /** `<dataDir>/net/endpoints.json`: the endpoints last applied, for a restart. */
  readonly #endpointsPath: string;
  #saving = Promise.resolve();
  readonly #log: Logger;
  readonly #resyncTimer: ReturnType<typeof setInterval> | undefined;
  /** The resync in progress: close() waits for it, or it could re-add what close removes. */
  #resyncing: Promise<void> | undefined;
  #closed = false;

  private constructor(
    tasks: TaskNetworks,
    proxy: ServiceProxy,
    dns: DnsServer,
    resolvConfPath: string,
    o: NodeNetworkOptions,
  ) {
    this.tasks = tasks;
    this.proxy = proxy;
    this.dns = dns;
    this.resolvConfPath = resolvConfPath;
    this.#drainDelayMs = o.drainDelayMs ?? DEFAULT_DRAIN_DELAY_MS;
    this.#endpointsPath = join(o.dataDir, "net", "endpoints.json");
    this.#log = logger("net", { node: o.nodeId });
    this.loopback = new LoopbackForwarder({ target: tasks.gateway, log: this.#log });
    const every = o.resyncIntervalMs ?? DEFAULT_RESYNC_INTERVAL_MS;
    if (every > 0) {
      this.#resyncTimer = setInterval(() => {
        if (this.#resyncing) return;
        this.#resyncing = this.#resync().catch((err) =>
          this.#log.warn("cannot restore the node's forward and service rules", { err })
        ).finally(() => this.#resyncing = undefined);
      }, every);
      Deno.unrefTimer(this.#resyncTimer);
    }
  }

  /** Sets the data plane up; on failure removes what it made. */
  static async open(o: NodeNetworkOptions): Promise<NodeNetwork> {
    const base = {
      nodeId: o.nodeId,
      subnet: o.subnet,
      dataDir: o.dataDir,
      ...(o.clusterCidr ? { clusterCidr: o.clusterCidr } : {}),
      ...(o.backend ? { backend: o.backend } : {}),
    };
    const tasks = await TaskNetworks.open({
      ...base,
      ...(o.cniPath ? { cniPath: o.cniPath } : {}),
      ...(o.mtu ? { mtu: o.mtu } : {}),
    });
    let proxy: ServiceProxy | undefined;
    let dns: DnsServer | undefined;
    try {
      proxy = await ServiceProxy.open({ ...base, bridge: tasks.names.bridge });
      dns = await DnsServer.start({
        hostname: tasks.gateway,
        port: o.dnsPort ?? 53,
        ...(o.dnsUpstreams ? { upstreams: o.dnsUpstreams } : {}),
      });
      const dir = join(o.dataDir, "net");
      await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
      const resolvConfPath = join(dir, "resolv.conf");
      await Deno.writeTextFile(resolvConfPath, containerResolvConf(tasks.gateway), { mode: 0o644 });
      const n = new NodeNetwork(tasks, proxy, dns, resolvConfPath, o);
      await n.#restoreEndpoints();
      return n;
    } catch (err) {
      await dns?.close().catch(() => {});
      await proxy?.close().catch(() => {});
      await tasks.close().catch(() => {});
      throw err;
    }
  }

  /** Creates (or finds, after a restart) the task's network; `ports` are the service's. */
  async attachTask(taskId: string, ports: readonly Port[] = []): Promise<AttachedTask> {
    const mappings = hostPortMappings(ports);
    const t = await this.tasks.createTaskNetwork(
      taskId,
      mappings.length ? { portMappings: mappings } : {},
    );
    return {
      netnsPath: t.netnsPath,
      ip: t.ip,
      gateway: t.gateway,
      resolvConfPath: this.resolvConfPath,
    };
  }

  /** Tears the task's network down. Idempotent. */
  async detachTask(taskId: string): Promise<void> {
    await this.tasks.destroyTaskNetwork(taskId);
    // The address goes back to IPAM: a later task may get it and must be served.
    if (this.#draining.delete(taskId)) await this.#sync();
  }

  /**
   * Takes a local task out of service traffic before its container stops: its IP leaves this
   * node's VIP rules and DNS answers at once (whatever the managers say later), then the call
   * waits `drainDelayMs` for the other nodes, which learn the removal from the managers in the
   * same message that stops the task, to apply it too. No wait when the task's service is gone
   * (nothing routes to it any more) or the task has no network here.
   */
  async drainTask(taskId: string, serviceId: string): Promise<void> {
    if (this.#closed) return;
    const ip = (await this.tasks.get(taskId))?.ip;
    if (!ip) return;
    this.#draining.set(taskId, ip);
    await this.#sync();
    if (this.#endpoints.has(serviceId) && this.#drainDelayMs > 0) {
      await new Promise((r) => setTimeout(r, this.#drainDelayMs));
    }
  }

  /**
   * Re-adopted tasks (a restart without drain) keep being served before any manager answers, or
   * while none does: the endpoints saved by the last run are applied again. A fresh node (no
   * task kept) starts empty.
   */
  async #restoreEndpoints(): Promise<void> {
    let saved: ServiceEndpoint[];
    try {
      saved = z.array(ServiceEndpointSchema).parse(
        JSON.parse(await Deno.readTextFile(this.#endpointsPath)),
      );
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        this.#log.warn("ignoring the saved service endpoints", { err });
      }
      return;
    }
    if ((await this.tasks.list()).length === 0) return;
    for (const ep of saved) this.#endpoints.set(ep.serviceId, ep);
    await this.#sync();
  }

  /**
   * Saves the endpoints for {@link #restoreEndpoints} (best effort: logged on failure), one save
   * at a time, each of the newest endpoints (messages may overlap).
   */
  #saveEndpoints(): Promise<void> {
    this.#saving = this.#saving.then(() => this.#writeEndpoints());
    return this.#saving;
  }

  async #writeEndpoints(): Promise<void> {
    const tmp = `${this.#endpointsPath}.tmp`;
    try {
      await Deno.writeTextFile(tmp, JSON.stringify([...this.#endpoints.values()]), { mode: 0o600 });
      await Deno.rename(tmp, this.#endpointsPath);
    } catch (err) {
      this.#log.warn("cannot save the service endpoints", { err });
    }
  }

  /** The service endpoints known now, by service ID. */
  get endpoints(): ReadonlyMap<string, ServiceEndpoint> {
    return this.#endpoints;
  }

  /**
   * Applies the endpoint part of an assignments message: a complete message replaces every
   * endpoint, a delta upserts and removes. VIP rules and DNS records follow in one step.
   */
  async apply(msg: AssignmentsMessage): Promise<void> {
    if (this.#closed) return;
    if (!msg.complete && msg.endpoints.length === 0 && msg.removedEndpointIds.length === 0) return;
    if (msg.complete) this.#endpoints.clear();
    for (const id of msg.removedEndpointIds) this.#endpoints.delete(id);
    for (const ep of msg.endpoints) this.#endpoints.set(ep.serviceId, ep);
    await this.#saveEndpoints();
    await this.#sync();
  }

  /** Rewrites the forward chain and every service rule from what the node knows. */
  async #resync(): Promise<void> {
    if (this.#closed) return;
    await this.tasks.repairForwardChain();
    await this.#sync({ full: true });
  }

  /** Pushes the endpoints, minus draining tasks, to DNS and the VIP rules. */
  async #sync(opts: { full?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    const draining = new Set(this.#draining.values());
    const all = [...this.#endpoints.values()].map((ep) =>
      ep.taskIps.some((ip) => draining.has(ip))
        ? { ...ep, taskIps: ep.taskIps.filter((ip) => !draining.has(ip)) }
        : ep
    );
    this.dns.setEndpoints(all);
    await this.proxy.syncServices(all, opts);
    this.loopback.sync(
      this.proxy.plan.filter((p) => p.protocol === "tcp").flatMap((p) => p.ingressPorts),
    );
  }

  /** Removes everything this node added: resolver, chains, task networks, bridge. Idempotent. */
  /**
   * Stops the resolver and removes the data plane. With `keepTasks` (a worker stopping without
   * draining, whose containers stay up to be re-adopted) and tasks still attached, only the
   * resolver stops: task namespaces, their leases, the bridge and the rules stay, and the next
   * open() re-adopts them. With no task left, everything is removed as usual.
   */
  async close(opts: { keepTasks?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#resyncTimer);
    await this.#resyncing;
    this.loopback.close();
    await this.dns.close();
    if (opts.keepTasks && (await this.tasks.list().catch(() => [])).length > 0) return;
    await this.proxy.close();
    await this.tasks.close();
    await Deno.remove(this.resolvConfPath).catch(() => {});
    await Deno.remove(this.#endpointsPath).catch(() => {});
    await removeEmptyPortmapChains().catch((err) =>
      this.#log.warn("cannot remove portmap's chains", { err })
    );
  }
}

/**
 * Removes a node's data plane from this host without an open {@link NodeNetwork} (after a crash,
 * `warren cluster leave`): task networks and namespaces, bridge, forward and nat chains (both
 * backends), unused portmap chains, and the node's `cni/` and `net/` dirs.
 */
export async function cleanupNodeNetwork(o: { nodeId: string; dataDir: string }): Promise<void> {
  await ServiceProxy.cleanup(o.nodeId);
  await TaskNetworks.cleanup(o);
  await Deno.remove(join(o.dataDir, "net"), { recursive: true }).catch(() => {});
  await removeEmptyPortmapChains().catch(() => {});
}
