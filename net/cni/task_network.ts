/**
 * The task networks of one node: a bridge with the node's gateway address, and per task a named
 * network namespace wired to it by the CNI plugins (loopback on `lo`, then bridge + host-local
 * IPAM and, for host-mode published ports, portmap on `eth0`).
 *
 * ```
 *  open():    sysctl ip_forward=1 · bridge wbr<tag> (gateway .1) · WARREN-FORWARD-<tag>
 *  create(t): ip netns add wtask-<tag>-<t> → loopback ADD → bridge ADD → [portmap ADD]
 *             → <dataDir>/cni/tasks/<t>.json (configs + result, for DEL)
 *  destroy(t): [portmap DEL] → bridge DEL (veth, lease) → loopback DEL → ip netns delete
 *  close():   destroy every task → forward chain → bridge → <dataDir>/cni
 * ```
 *
 * Every step is idempotent: a worker restarted while its containers run calls create again for
 * the same task and gets the recorded network back.
 * @module
 */
import { join } from "node:path";
import { runCommand } from "../host/command.ts";
import { detectFirewallBackend, type FirewallBackend } from "../host/firewall_backend.ts";
import { gatewayOf, parseNet } from "../host/ipv4.ts";
import { type NodeNames, nodeNames } from "../host/names.ts";
import { bridgeConflist, chainConfigs, loopbackConfig, type PortMapping } from "./conflist.ts";
import {
  type ForwardChainOptions,
  installForwardChain,
  removeForwardChain,
} from "./forward_chain.ts";
import { createNetns, deleteNetns, listNetns, netnsExists, netnsPath } from "./netns.ts";
import { type CniPluginConfig, type CniResult, invokeCniPlugin } from "./plugin.ts";

/** Options of {@link TaskNetworks.open}. */
export interface TaskNetworksOptions {
  nodeId: string;
  /** The node's task subnet (JoinResponse.subnet), e.g. `10.240.3.0/24`. */
  subnet: string;
  /** The cluster CIDR; accepted by the forward chain. Default: the node subnet. */
  clusterCidr?: string;
  /** The worker's data dir; CNI state goes to `<dataDir>/cni`. */
  dataDir: string;
  /** CNI plugin directory; default /usr/lib/cni. */
  cniPath?: string;
  /** Default: detected (iptables, else nft). */
  backend?: FirewallBackend;
  mtu?: number;
}

/** A task's network as the runtime and the service layer need it. */
export interface TaskNetwork {
  taskId: string;
  /** Named namespace, e.g. `wtask-1a2b3c4d-web.1.x`. */
  netnsName: string;
  /** `/run/netns/<netnsName>`, for ContainerConfig.network. */
  netnsPath: string;
  ip: string;
  gateway: string;
  prefixBits: number;
}

/** Options of {@link TaskNetworks.createTaskNetwork}. */
export interface CreateTaskNetworkOptions {
  /** Host-mode published ports (portmap). */
  portMappings?: PortMapping[];
}

interface TaskRecord {
  network: TaskNetwork;
  /** Plugin configurations run at ADD, in order (DEL runs them reversed). */
  configs: CniPluginConfig[];
  result: CniResult;
}

/** One node's bridge and task namespaces. See the module doc. */
export class TaskNetworks {
  readonly names: NodeNames;
  readonly subnet: string;
  readonly gateway: string;
  readonly backend: FirewallBackend;
  readonly #o: TaskNetworksOptions;
  readonly #dir: string;
  readonly #locks = new Map<string, Promise<unknown>>();

  private constructor(o: TaskNetworksOptions, backend: FirewallBackend) {
    this.#o = o;
    this.names = nodeNames(o.nodeId);
    this.subnet = o.subnet;
    this.gateway = gatewayOf(o.subnet);
    this.backend = backend;
    this.#dir = join(o.dataDir, "cni");
  }

  /** Sets up forwarding, the bridge (with the gateway address) and the forward chain. */
  static async open(o: TaskNetworksOptions): Promise<TaskNetworks> {
    parseNet(o.subnet, "subnet");
    const n = new TaskNetworks(o, o.backend ?? await detectFirewallBackend());
    await Deno.mkdir(join(n.#dir, "tasks"), { recursive: true, mode: 0o700 });
    await Deno.writeTextFile("/proc/sys/net/ipv4/ip_forward", "1\n");
    await n.#ensureBridge();
    await installForwardChain(n.backend, n.#forward());
    return n;
  }

  /** host-local's data dir (`<dataDir>/cni/ipam`). */
  get ipamDir(): string {
    return join(this.#dir, "ipam");
  }

  /**
   * Removes what a node's task networks left on this host without knowing its subnet (after a
   * crash, on `warren cluster leave`): DEL for every recorded task, every namespace with the
   * node's prefix, the forward chain (both backends), the bridge and `<dataDir>/cni`.
   */
  static async cleanup(
    o: { nodeId: string; dataDir: string; cniPath?: string; subnet?: string },
  ): Promise<void> {
    // The subnet only shapes IPAM ranges for ADD; DEL releases leases by container ID.
    const n = new TaskNetworks(
      { ...o, subnet: o.subnet ?? "10.0.0.0/8" },
      await detectFirewallBackend().catch(() => "iptables" as const),
    );
    const prefix = n.names.netnsPrefix;
    const ids = new Set((await n.list().catch(() => [])).map((t) => t.taskId));
    for (const name of await listNetns(prefix)) ids.add(name.slice(prefix.length));
    for (const id of ids) await n.destroyTaskNetwork(id).catch(() => deleteNetns(`${prefix}${id}`));
    for (const backend of ["iptables", "nft"] as const) {
      await removeForwardChain(backend, n.#forward()).catch(() => {});
    }
    await runCommand(["ip", "link", "delete", n.names.bridge], { check: false });
    await Deno.remove(n.#dir, { recursive: true }).catch(() => {});
  }

  /** Directory of host-local's leases: one file per allocated IP, named by the IP. */
  get leaseDir(): string {
    return join(this.ipamDir, this.#networkName());
  }

  #networkName(): string {
    return `warren-${this.names.tag}`;
  }

  /** Creates the task's namespace and runs ADD; returns the recorded network when it exists. */
  createTaskNetwork(taskId: string, opts: CreateTaskNetworkOptions = {}): Promise<TaskNetwork> {
    return this.#locked(taskId, () => this.#create(taskId, opts));
  }

  /** Runs DEL and removes the namespace: no interface, lease or portmap rule is left. Idempotent. */
  destroyTaskNetwork(taskId: string): Promise<void> {
    return this.#locked(taskId, () => this.#destroy(taskId));
  }

  /** The recorded network of `taskId`, if any. */
  async get(taskId: string): Promise<TaskNetwork | undefined> {
    return (await this.#read(taskId))?.network;
  }

  /** Every recorded task network. */
  async list(): Promise<TaskNetwork[]> {
    const out: TaskNetwork[] = [];
    for await (const e of Deno.readDir(join(this.#dir, "tasks"))) {
      if (!e.name.endsWith(".json")) continue;
      const r = await this.#read(e.name.slice(0, -5));
      if (r) out.push(r.network);
    }
    return out.sort((a, b) => (a.taskId < b.taskId ? -1 : 1));
  }

  /**
   * Installs the forward chain and its jump again (idempotent), for a host whose rules were
   * flushed behind Warren's back (a firewall reload): with FORWARD's policy DROP, task traffic
   * to and from other hosts would stop.
   */
  async repairForwardChain(): Promise<void> {
    await installForwardChain(this.backend, this.#forward());
  }

  /** Destroys every task network, then the forward chain, the bridge and the CNI state dir. */
  async close(): Promise<void> {
    for (const t of await this.list().catch(() => [])) await this.destroyTaskNetwork(t.taskId);
    await removeForwardChain(this.backend, this.#forward());
    await runCommand(["ip", "link", "delete", this.names.bridge], { check: false });
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  async #create(taskId: string, opts: CreateTaskNetworkOptions): Promise<TaskNetwork> {
    const existing = await this.#read(taskId);
    const netnsName = `${this.names.netnsPrefix}${taskId}`;
    if (existing && await netnsExists(netnsName)) return existing.network;
    // A half-made network from a crash: release it before starting over.
    if (existing || await netnsExists(netnsName)) await this.#destroy(taskId);
    const path = await createNetns(netnsName);
    const configs = chainConfigs(this.#conflist(), opts);
    const ran: CniPluginConfig[] = [];
    try {
      await invokeCniPlugin(this.#inv("ADD", taskId, path, "lo", loopbackConfig()));
      let prev: CniResult | undefined;
      for (const cfg of configs) {
        ran.push(cfg);
        prev = await invokeCniPlugin(
          this.#inv("ADD", taskId, path, "eth0", prev ? { ...cfg, prevResult: prev } : cfg),
        );
      }
      const ipCfg = prev?.ips?.[0];
      if (!prev || !ipCfg) throw new Error(`CNI ADD for task "${taskId}" returned no IP`);
      const [ip, bits] = ipCfg.address.split("/");
      const network: TaskNetwork = {
        taskId,
        netnsName,
        netnsPath: path,
        ip: ip!,
        gateway: ipCfg.gateway ?? this.gateway,
        prefixBits: Number(bits),
      };
      const record: TaskRecord = { network, configs, result: prev };
      await Deno.writeTextFile(this.#file(taskId), JSON.stringify(record), { mode: 0o600 });
      return network;
    } catch (err) {
      await this.#del(taskId, path, ran.reverse(), undefined).catch(() => {});
      await deleteNetns(netnsName).catch(() => {});
      throw err;
    }
  }

  async #destroy(taskId: string): Promise<void> {
    const record = await this.#read(taskId);
    const netnsName = `${this.names.netnsPrefix}${taskId}`;
    // Without a record, DEL with the base configs still releases a lease made before a crash.
    const configs = record?.configs ?? chainConfigs(this.#conflist());
    await this.#del(taskId, netnsPath(netnsName), [...configs].reverse(), record?.result);
    await deleteNetns(netnsName);
    await Deno.remove(this.#file(taskId)).catch(() => {});
  }

  async #del(
    taskId: string,
    path: string,
    reversed: CniPluginConfig[],
    result: CniResult | undefined,
  ): Promise<void> {
    // DEL must succeed even when the namespace is gone (spec); plugins cope with a missing one.
    for (const cfg of reversed) {
      await invokeCniPlugin(
        this.#inv("DEL", taskId, path, "eth0", result ? { ...cfg, prevResult: result } : cfg),
      );
    }
    if (await netnsExists(path.slice(path.lastIndexOf("/") + 1))) {
      await invokeCniPlugin(this.#inv("DEL", taskId, path, "lo", loopbackConfig()));
    }
  }

  #inv(
    command: "ADD" | "DEL",
    containerId: string,
    netns: string,
    ifName: string,
    config: CniPluginConfig,
  ) {
    return {
      command,
      containerId,
      netns,
      ifName,
      config,
      ...(this.#o.cniPath ? { cniPath: this.#o.cniPath } : {}),
    };
  }

  #conflist() {
    return bridgeConflist({
      name: this.#networkName(),
      bridge: this.names.bridge,
      subnet: this.subnet,
      ipamDataDir: this.ipamDir,
      ...(this.#o.mtu ? { mtu: this.#o.mtu } : {}),
    });
  }

  #forward(): ForwardChainOptions {
    return {
      chain: this.names.forwardChain,
      nftTable: this.names.nftForwardTable,
      bridge: this.names.bridge,
      clusterCidr: this.#o.clusterCidr ?? this.subnet,
    };
  }

  async #ensureBridge(): Promise<void> {
    const br = this.names.bridge;
    const show = await runCommand(["ip", "link", "show", "dev", br], { check: false });
    if (show.code !== 0) await runCommand(["ip", "link", "add", "name", br, "type", "bridge"]);
    const bits = parseNet(this.subnet).prefixBits;
    await runCommand(["ip", "addr", "replace", `${this.gateway}/${bits}`, "dev", br]);
    await runCommand(["ip", "link", "set", br, "up"]);
  }

  #file(taskId: string): string {
    return join(this.#dir, "tasks", `${taskId}.json`);
  }

  async #read(taskId: string): Promise<TaskRecord | undefined> {
    try {
      return JSON.parse(await Deno.readTextFile(this.#file(taskId))) as TaskRecord;
    } catch {
      return undefined;
    }
  }

  /** Runs `fn` after every earlier operation on the same task. */
  #locked<T>(taskId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(taskId) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(fn);
    this.#locks.set(taskId, next);
    void next.catch(() => {}).finally(() => {
      if (this.#locks.get(taskId) === next) this.#locks.delete(taskId);
    });
    return next;
  }
}
