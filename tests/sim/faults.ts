/**
 * Fault injection between steps: partitions (random splits, the leader isolated, one-way cuts)
 * that heal after a while, node crashes followed by restarts from disk, leadership transfers and
 * membership changes (add a learner, promote it, demote or remove a voter, never below three
 * voters). Crashes in the middle of handling a Ready are injected by the node itself.
 * @module
 */
import { ConfChangePendingError, ProposalDroppedError } from "../../manager/raft/core/errors.ts";
import type { ConfChange, ConfState, NodeId } from "../../manager/raft/core/types.ts";
import { ValidationError } from "../../proto/errors.ts";
import type { Cluster } from "./cluster.ts";
import type { Network } from "./network.ts";
import type { SimParams } from "./params.ts";
import type { SimRng } from "./rng.ts";
import type { SimNode } from "./sim_node.ts";
import type { Trace } from "./trace.ts";

/** Counters for the coverage summary. */
export interface FaultStats {
  partitions: number;
  crashes: number;
  restarts: number;
  transfers: number;
  confChangesProposed: number;
}

/** Schedules and applies faults. */
export class FaultInjector {
  readonly stats: FaultStats = {
    partitions: 0,
    crashes: 0,
    restarts: 0,
    transfers: 0,
    confChangesProposed: 0,
  };
  readonly #rng: SimRng;
  readonly #net: Network;
  readonly #cluster: Cluster;
  readonly #params: SimParams;
  readonly #trace: Trace;
  #healAt = -1;
  /** Crashed node → step at which it restarts. */
  readonly #restartAt = new Map<NodeId, number>();
  /** A node created to join, until it shows up in the membership. */
  #joining: NodeId | undefined;
  /** Nodes shut down for good (removed from the cluster, as an operator would). */
  readonly #retired = new Set<NodeId>();

  constructor(
    deps: { rng: SimRng; net: Network; cluster: Cluster; params: SimParams; trace: Trace },
  ) {
    this.#rng = deps.rng;
    this.#net = deps.net;
    this.#cluster = deps.cluster;
    this.#params = deps.params;
    this.#trace = deps.trace;
  }

  /**
   * Schedules a restart for nodes that crashed (between steps or inside a Ready) and restarts
   * those whose downtime is over; `all` restarts every crashed node now.
   */
  restartDue(now: number, all = false): void {
    for (const n of this.#cluster.nodes.values()) {
      if (!n.up && !this.#retired.has(n.id)) this.noteCrashed(n.id, now);
    }
    for (const [id, at] of [...this.#restartAt]) {
      if (!all && at > now) continue;
      this.#restartAt.delete(id);
      this.#cluster.node(id).start();
      this.stats.restarts++;
    }
  }

  /** Notes a crash that happened inside a node (mid-Ready), to restart it later. */
  noteCrashed(id: NodeId, now: number): void {
    if (!this.#restartAt.has(id)) {
      this.#restartAt.set(id, now + this.#rng.range(1, this.#params.faults.maxDowntimeSteps));
    }
  }

  /** One step of the faulty phase. */
  step(now: number): void {
    const rng = this.#rng, f = this.#params.faults;
    if (this.#net.partitioned && now >= this.#healAt) {
      this.#net.heal();
      this.#trace.add(now, () => "partition heals");
    } else if (!this.#net.partitioned && rng.chance(f.partitionRate)) {
      this.#partition(now);
    }
    if (rng.chance(f.crashRate)) this.#crashOne(now);
    if (rng.chance(f.transferRate)) this.#transfer(now);
    if (rng.chance(f.confChangeRate)) this.#changeMembership(now);
  }

  /**
   * Ends every fault: heals the network and restarts every crashed node. Then shuts down for
   * good the nodes outside the membership (as an operator decommissions a removed server): a
   * removed node that never learnt of its removal would otherwise campaign forever, which Raft
   * only prevents with check-quorum's leader lease (thesis §4.2.3).
   */
  healAll(now: number): void {
    this.#net.heal();
    this.restartDue(now, true);
    const cs = this.#mostRecentConfig();
    const members = new Set([...cs.voters, ...cs.learners]);
    for (const n of this.#cluster.nodes.values()) {
      if (members.has(n.id) || !n.up) continue;
      n.crash("retired: not a member");
      this.#retired.add(n.id);
    }
  }

  /** Brings back a retired node that turned out to be a member after all. */
  ensureRunning(id: NodeId): void {
    if (!this.#retired.delete(id)) return;
    this.#cluster.node(id).start();
  }

  /** The configuration applied by the node that applied the most. */
  #mostRecentConfig(): ConfState {
    let best: SimNode | undefined;
    for (const n of this.#cluster.up()) if (!best || n.appliedIndex > best.appliedIndex) best = n;
    return best?.core?.confState() ?? { voters: [], learners: [] };
  }

  #partition(now: number): void {
    const rng = this.#rng;
    const ids = [...this.#cluster.nodes.keys()];
    const leader = this.#cluster.leader()?.id;
    const kind = rng.pick(["split", "isolateLeader", "oneWay", "bridge"] as const);
    let desc: string;
    if (kind === "isolateLeader" && leader) {
      this.#net.split([leader], ids.filter((id) => id !== leader));
      desc = `isolate leader ${leader}`;
    } else if (kind === "oneWay") {
      const from = leader && rng.chance(0.5) ? leader : rng.pick(ids);
      const cut = ids.filter((id) => id !== from && rng.chance(0.6));
      for (const to of cut) this.#net.cut(from, to);
      desc = `one-way: ${from} cannot reach ${cut.join(",")}`;
    } else if (kind === "bridge" && ids.length >= 3) {
      // Two halves that only one node (the bridge) can talk to.
      const [bridge, ...rest] = rng.shuffled(ids);
      const half = Math.ceil(rest.length / 2);
      this.#net.split(rest.slice(0, half), rest.slice(half));
      desc = `bridge ${bridge} between ${rest.slice(0, half)} | ${rest.slice(half)}`;
    } else {
      const shuffled = rng.shuffled(ids);
      const cutAt = rng.range(1, ids.length - 1);
      this.#net.split(shuffled.slice(0, cutAt), shuffled.slice(cutAt));
      desc = `split ${shuffled.slice(0, cutAt)} | ${shuffled.slice(cutAt)}`;
    }
    this.stats.partitions++;
    this.#healAt = now + rng.range(10, 250);
    this.#trace.add(now, () => `PARTITION ${desc} until ${this.#healAt}`);
  }

  #crashOne(now: number): void {
    const rng = this.#rng;
    const up = this.#cluster.up();
    if (up.length === 0) return;
    const leader = this.#cluster.leader();
    const victim = leader && rng.chance(0.3) ? leader : rng.pick(up);
    victim.crash("between steps");
    this.stats.crashes++;
    this.noteCrashed(victim.id, now);
  }

  #transfer(now: number): void {
    const leader = this.#cluster.leader();
    if (!leader?.core) return;
    const others = leader.core.confState().voters.filter((id) => id !== leader.id);
    if (others.length === 0) return;
    const to = this.#rng.pick(others);
    try {
      leader.core.transferLeader(to);
      this.stats.transfers++;
      this.#trace.add(now, () => `transfer leadership ${leader.id} -> ${to}`);
    } catch (err) {
      if (!(err instanceof ProposalDroppedError || err instanceof ValidationError)) throw err;
    }
  }

  #changeMembership(now: number): void {
    const rng = this.#rng;
    const leader = this.#cluster.leader();
    if (!leader?.core) return;
    const cs = leader.core.confState();
    if (this.#joining && [...cs.voters, ...cs.learners].includes(this.#joining)) {
      this.#joining = undefined;
    }
    let cc: ConfChange;
    const context = new Uint8Array();
    if (cs.learners.length > 0 && rng.chance(0.7)) {
      cc = { type: "addNode", nodeId: rng.pick(cs.learners), context };
    } else if (cs.voters.length > 3 && rng.chance(0.6)) {
      cc = {
        type: rng.chance(0.7) ? "removeNode" : "addLearner",
        nodeId: rng.pick(cs.voters),
        context,
      };
    } else if (cs.voters.length + cs.learners.length < this.#params.nodes + 2) {
      this.#joining ??= this.#cluster.addEmptyNode().id;
      cc = { type: "addLearner", nodeId: this.#joining, context };
    } else {
      return;
    }
    try {
      leader.core.proposeConfChange(cc);
      this.stats.confChangesProposed++;
      this.#trace.add(now, () => `propose ${cc.type} ${cc.nodeId} on ${leader.id}`);
    } catch (err) {
      if (
        !(err instanceof ConfChangePendingError || err instanceof ProposalDroppedError ||
          err instanceof ValidationError)
      ) throw err;
    }
  }
}
