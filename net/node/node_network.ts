/**
 * One node's whole data plane, as the worker needs it: task networks (CNI), service VIPs and
 * ingress ports (nat rules), and the resolver on the bridge gateway.
 *
 * ```
 *  open ─▶ TaskNetworks (bridge, forward chain) ─▶ ServiceProxy (nat chains) ─▶ DnsServer
 *          + <dataDir>/net/resolv.conf (nameserver = gateway)
 *  attachTask(t)  ─▶ netns + CNI ADD (host-mode ports through portmap) ─▶ {netnsPath, ip, resolvConfPath}
 *  apply(msg)     ─▶ endpoints (complete / upserts + removals) ─▶ syncServices + DNS records
 *  detachTask(t)  ─▶ CNI DEL + netns delete
 *  close          ─▶ resolver, nat chains, task networks, bridge, portmap chains if unused
 * ```
 * @module
 */
import { join } from "node:path";
import type { AssignmentsMessage, Port, ServiceEndpoint } from "../../proto/schema/mod.ts";
import { type Logger, logger } from "../../proto/log.ts";
import { TaskNetworks } from "../cni/task_network.ts";
import { containerResolvConf } from "../dns/resolv_conf.ts";
import { DnsServer } from "../dns/server.ts";
import type { Upstream } from "../dns/upstreams.ts";
import type { FirewallBackend } from "../host/firewall_backend.ts";
import { hostPortMappings, removeEmptyPortmapChains } from "../ports/host_ports.ts";
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
}

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
  readonly #endpoints = new Map<string, ServiceEndpoint>();
  readonly #log: Logger;
  #closed = false;

  private constructor(
    tasks: TaskNetworks,
    proxy: ServiceProxy,
    dns: DnsServer,
    resolvConfPath: string,
    nodeId: string,
  ) {
    this.tasks = tasks;
    this.proxy = proxy;
    this.dns = dns;
    this.resolvConfPath = resolvConfPath;
    this.#log = logger("net", { node: nodeId });
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
      return new NodeNetwork(tasks, proxy, dns, resolvConfPath, o.nodeId);
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
  detachTask(taskId: string): Promise<void> {
    return this.tasks.destroyTaskNetwork(taskId);
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
    const all = [...this.#endpoints.values()];
    this.dns.setEndpoints(all);
    await this.proxy.syncServices(all);
  }

  /** Removes everything this node added: resolver, chains, task networks, bridge. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.dns.close();
    await this.proxy.close();
    await this.tasks.close();
    await Deno.remove(this.resolvConfPath).catch(() => {});
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
