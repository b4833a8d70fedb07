/**
 * Service VIPs and ingress ports of one node in the kernel's nat table (plus one filter chain
 * that refuses VIP ports with no task). {@link ServiceProxy.syncServices}
 * recomputes the rules from the endpoints of every assignments message and applies the
 * difference in one atomic batch (`iptables-restore --noflush`; with nft, one table replacement).
 *
 * Removing a task's IP takes effect for new connections as soon as the batch commits (tens of
 * milliseconds); established connections to tasks that stay are untouched, since conntrack keeps
 * their translation. Established connections to a removed (dead) task are not cut: conntrack
 * entries expire on their own (no `conntrack -D`, the tool is not installed).
 * @module
 */
import { runCommand } from "../host/command.ts";
import { detectFirewallBackend, type FirewallBackend } from "../host/firewall_backend.ts";
import { ensureJump, iptablesRestore, iptablesSave, removeJump } from "../host/iptables.ts";
import { type NodeNames, nodeNames } from "../host/names.ts";
import type { ServiceEndpoint } from "../../proto/schema/mod.ts";
import {
  type ChainRules,
  filterJumps,
  type NatContext,
  natJumps,
  natRuleset,
  rejectRuleset,
  restoreText,
} from "./iptables_rules.ts";
import { nftScript } from "./nft_rules.ts";
import { planServices, type ServicePortPlan } from "./service_plan.ts";
import { flushUdpFlows, removedUdpBackends } from "./udp_flows.ts";
import { logger } from "../../proto/log.ts";

/** Options of {@link ServiceProxy.open}. */
export interface ServiceProxyOptions {
  nodeId: string;
  /** The node's task subnet. */
  subnet: string;
  /** Default: the node subnet. */
  clusterCidr?: string;
  /** The node's bridge; default the one {@link nodeNames} derives. */
  bridge?: string;
  /** Default: detected (iptables, else nft). */
  backend?: FirewallBackend;
}

/** Marks rules of a chain found in the kernel whose content is unknown (always rewritten). */
const UNKNOWN = ["<found at start>"];

/** One node's service rules. See the module doc. */
export class ServiceProxy {
  readonly names: NodeNames;
  readonly backend: FirewallBackend;
  readonly #ctx: NatContext;
  #applied: ChainRules = new Map();
  #appliedFilter: ChainRules = new Map();
  #plan: ServicePortPlan[] = [];
  /** The kernel may not hold what #applied says (a batch failed): rewrite every chain next. */
  #stale = false;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(o: ServiceProxyOptions, backend: FirewallBackend, ctx: NatContext) {
    this.names = nodeNames(o.nodeId);
    this.backend = backend;
    this.#ctx = ctx;
  }

  /** Installs the node's (empty) chains and their jumps, replacing leftovers of a crash. */
  static async open(o: ServiceProxyOptions): Promise<ServiceProxy> {
    const names = nodeNames(o.nodeId);
    const backend = o.backend ?? await detectFirewallBackend();
    const ctx: NatContext = {
      names,
      bridge: o.bridge ?? names.bridge,
      subnet: o.subnet,
      clusterCidr: o.clusterCidr ?? o.subnet,
      masqueradeLocalVip: !(await bridgeNetfilterOn()),
    };
    const p = new ServiceProxy(o, backend, ctx);
    if (backend === "iptables") {
      p.#applied = await p.#existingChains();
      p.#appliedFilter = await p.#existingFilterChains();
    }
    await p.#apply([]);
    if (backend === "iptables") await p.#ensureJumps();
    return p;
  }

  /** The jumps from the built-in chains into the node's chains, each added if missing. */
  async #ensureJumps(): Promise<void> {
    for (const [builtin, chain, match] of natJumps(this.names)) {
      await ensureJump("nat", builtin, chain, match);
    }
    for (const [builtin, chain, match] of filterJumps(this.names)) {
      await ensureJump("filter", builtin, chain, match);
    }
  }

  /**
   * Removes a node's chains and jumps (both backends) without an open instance: after a crash,
   * on `warren cluster leave`.
   */
  static async cleanup(nodeId: string): Promise<void> {
    const names = nodeNames(nodeId);
    await runCommand(["nft", "delete", "table", "ip", names.nftServicesTable], { check: false })
      .catch(() => {});
    try {
      const p = new ServiceProxy({ nodeId, subnet: "0.0.0.0/0" }, "iptables", {
        names,
        bridge: names.bridge,
        subnet: "0.0.0.0/0",
        clusterCidr: "0.0.0.0/0",
      });
      await p.close();
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err; // no iptables on this host
    }
  }

  /** The plan last applied. */
  get plan(): readonly ServicePortPlan[] {
    return this.#plan;
  }

  /**
   * Recomputes the rules for `endpoints` (every service known to the node) and applies the
   * difference atomically. Calls are applied in order; concurrent calls queue. With `full`, or
   * after a failed apply, every chain is rewritten from what the kernel has and the jumps are
   * restored: the host's rules may have been flushed (a firewall reload) behind Warren's back.
   */
  syncServices(
    endpoints: readonly ServiceEndpoint[],
    opts: { full?: boolean } = {},
  ): Promise<void> {
    const plan = planServices(endpoints);
    const full = opts.full ?? false;
    const next = this.#queue.then(() => this.#closed ? undefined : this.#apply(plan, full));
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Removes every chain and jump this node added. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    if (this.backend === "nft") {
      await runCommand(["nft", "delete", "table", "ip", this.names.nftServicesTable], {
        check: false,
      });
      return;
    }
    for (const [builtin, chain, match] of natJumps(this.names)) {
      await removeJump("nat", builtin, chain, match);
    }
    for (const [builtin, chain, match] of filterJumps(this.names)) {
      await removeJump("filter", builtin, chain, match);
    }
    const existing = await this.#existingChains();
    for (const c of this.#applied.keys()) existing.set(c, UNKNOWN);
    const text = restoreText(existing, new Map());
    if (text) await iptablesRestore(text);
    this.#applied = new Map();
    const filterText = restoreText(await this.#existingFilterChains(), new Map(), "filter");
    if (filterText) await iptablesRestore(filterText);
    this.#appliedFilter = new Map();
  }

  async #apply(plan: ServicePortPlan[], full = false): Promise<void> {
    if (this.backend === "nft") {
      // The whole table is replaced every time: nothing can be stale.
      await runCommand(["nft", "-f", "-"], {
        stdin: nftScript(this.names.nftServicesTable, plan, this.#ctx),
      });
    } else {
      const repair = full || this.#stale;
      if (repair) {
        this.#applied = await this.#existingChains();
        this.#appliedFilter = await this.#existingFilterChains();
      }
      // Stays set if a batch below fails, so the next apply starts from the kernel's rules.
      this.#stale = true;
      const next = natRuleset(plan, this.#ctx);
      const text = restoreText(this.#applied, next);
      if (text) await iptablesRestore(text);
      this.#applied = next;
      const nextFilter = rejectRuleset(plan, this.names);
      const filterText = restoreText(this.#appliedFilter, nextFilter, "filter");
      if (filterText) await iptablesRestore(filterText);
      this.#appliedFilter = nextFilter;
      if (repair) await this.#ensureJumps();
      this.#stale = false;
    }
    const gone = removedUdpBackends(this.#plan, plan);
    this.#plan = plan;
    // After the rules: a datagram that arrives between the two is balanced by the new ones.
    if (gone.length > 0) await flushUdpFlows(gone, logger("net"));
  }

  /** This node's nat chains present in the kernel (rules unknown). */
  async #existingChains(): Promise<ChainRules> {
    const n = this.names;
    const mine = (c: string) =>
      c === n.servicesChain || c === n.portsChain || c === n.postroutingChain ||
      c.startsWith(`WSVC-${n.tag}-`) || c.startsWith(`WSEP-${n.tag}-`);
    const out: ChainRules = new Map();
    for (const line of (await iptablesSave("nat")).split("\n")) {
      const m = /^:(\S+) /.exec(line);
      if (m && mine(m[1]!)) out.set(m[1]!, UNKNOWN);
    }
    return out;
  }

  /** This node's filter chain, if present in the kernel (rules unknown). */
  async #existingFilterChains(): Promise<ChainRules> {
    const chain = this.names.rejectChain;
    const found = (await iptablesSave("filter")).split("\n").some((l) =>
      l.startsWith(`:${chain} `)
    );
    return found ? new Map([[chain, UNKNOWN]]) : new Map();
  }
}

/** Whether bridged IPv4 traffic passes iptables here (br_netfilter loaded and enabled). */
export async function bridgeNetfilterOn(): Promise<boolean> {
  try {
    return (await Deno.readTextFile("/proc/sys/net/bridge/bridge-nf-call-iptables")).trim() ===
      "1";
  } catch {
    return false;
  }
}
