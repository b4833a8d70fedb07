/**
 * One simulation run: builds the cluster, the network, the clients and the fault injector from a
 * seed, runs the faulty phase step by step with the checkers after every step, then heals every
 * fault and requires the cluster to elect a leader, commit a probe write and bring every member up
 * to date (liveness), and finally checks the whole client history for linearizability.
 * @module
 */
import { checkLinearizable } from "./linearizability.ts";
import { kvModel } from "./kv_model.ts";
import { Checkers, CheckFailure } from "./checkers.ts";
import { SimClients } from "./clients.ts";
import { Cluster } from "./cluster.ts";
import { FaultInjector, type FaultStats } from "./faults.ts";
import { type NetStats, Network } from "./network.ts";
import { drawParams, type SimOptions, type SimParams } from "./params.ts";
import { SimRng } from "./rng.ts";
import type { NodeEnv, NodeStats } from "./sim_node.ts";
import { Trace } from "./trace.ts";

/** A failed run: which seed, at which step, which check, and the trace when verbose. */
export class SimFailure extends Error {
  readonly seed: number;
  readonly step: number;
  readonly check: string;
  readonly trace: string[];
  constructor(
    opts: { seed: number; step: number; check: string; message: string; trace: string[] },
  ) {
    super(`seed ${opts.seed} step ${opts.step}: ${opts.message}`);
    this.name = "SimFailure";
    this.seed = opts.seed;
    this.step = opts.step;
    this.check = opts.check;
    this.trace = opts.trace;
  }
}

/** What a successful run did, for the coverage summary. */
export interface SimSummary {
  seed: number;
  nodes: number;
  steps: number;
  /** Steps the final phase needed to recover. */
  recoverySteps: number;
  leaderTerms: number;
  committed: number;
  ops: { ok: number; unknown: number };
  net: NetStats;
  faults: FaultStats;
  node: NodeStats;
}

/** Runs one seed. Returns its summary; throws {@link SimFailure} when a check fails. */
export function runSimulation(opts: SimOptions): SimSummary {
  return new Simulation(opts).run();
}

class Simulation {
  readonly params: SimParams;
  readonly rng: SimRng;
  readonly trace: Trace;
  readonly checkers = new Checkers();
  readonly net: Network;
  readonly cluster: Cluster;
  readonly clients: SimClients;
  readonly faults: FaultInjector;
  readonly nodeStats: NodeStats = {
    readies: 0,
    readyCrashes: 0,
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
    confChangesApplied: 0,
  };
  step = 0;
  #clock = 0;

  constructor(opts: SimOptions) {
    this.rng = new SimRng(opts.seed);
    this.params = drawParams(opts, this.rng);
    this.trace = new Trace(this.params.verbose, this.params.traceLines);
    this.net = new Network(this.rng, this.params.net);
    const env: NodeEnv = {
      rng: this.rng,
      net: this.net,
      checkers: this.checkers,
      trace: this.trace,
      params: this.params,
      stats: this.nodeStats,
      now: () => this.step,
      reachable: (from, to) => !this.net.isCut(from, to) && this.cluster.nodes.get(to)?.up === true,
    };
    this.cluster = this.#guard(() => new Cluster(env, this.params.nodes));
    const electionTicks = this.params.raft.electionTicks;
    this.clients = new SimClients({
      rng: this.rng,
      net: this.net,
      trace: this.trace,
      now: () => this.step,
      clock: () => ++this.#clock,
      targets: () => {
        const cs = this.cluster.membership();
        const ids = [...cs.voters, ...cs.learners];
        return ids.length > 0 ? ids : [...this.cluster.nodes.keys()];
      },
    }, {
      clients: this.params.kv.clients,
      keys: this.params.kv.keys,
      opRate: this.params.kv.opRate,
      logReadShare: this.params.kv.logReadShare,
      timeouts: { attemptSteps: 3 * electionTicks + 10, giveUpSteps: 20 * electionTicks },
    });
    this.faults = new FaultInjector({
      rng: this.rng,
      net: this.net,
      cluster: this.cluster,
      params: this.params,
      trace: this.trace,
    });
  }

  run(): SimSummary {
    const p = this.params;
    this.trace.add(0, () => `params ${JSON.stringify({ ...p, tickRates: undefined })}`);
    for (; this.step < p.steps; this.step++) this.#guard(() => this.#oneStep(true));
    // Final phase: no more faults, a reliable network; the cluster must recover.
    const start = this.step;
    this.#guard(() => this.#calm());
    const startProbe = () =>
      this.clients.startProbe({ op: "put", key: "probe", value: `live@${this.step}` });
    let probe = startProbe();
    let caughtUp = false;
    for (; this.step < start + p.quiesceSteps; this.step++) {
      this.#guard(() => this.#oneStep(false));
      // A probe given up on (no leader within the client's patience: without pre-vote, lagging
      // members can keep disrupting elections for a while) is asked again: the cluster has the
      // whole quiet phase to recover, which is what this check promises.
      if (probe.returnAt === Infinity && !this.clients.pending(probe)) probe = startProbe();
      if (probe.returnAt !== Infinity && this.clients.outstanding === 0 && this.#allCaughtUp()) {
        caughtUp = true;
        break;
      }
    }
    if (!caughtUp) {
      const why = probe.returnAt === Infinity
        ? "no probe write committed"
        : this.clients.outstanding > 0
        ? `${this.clients.outstanding} client operations still pending`
        : "members did not catch up";
      this.#fail(
        "liveness",
        `after healing every fault for ${p.quiesceSteps} steps: ${why}:\n  ${this.#describeNodes()}`,
      );
    }
    this.#guard(() => this.cluster.check());
    // A get whose outcome is unknown constrains nothing (it changes no state and any output is
    // acceptable), and each one multiplies the search: leave them out.
    const history = this.clients.history.filter((o) =>
      !(o.input.op === "get" && o.returnAt === Infinity)
    );
    const verdict = checkLinearizable(kvModel, history, { maxStates: 250_000 });
    if (!verdict.ok && verdict.reason.startsWith("gave up")) {
      this.#fail(
        "linearizability undecided",
        `${verdict.reason} on key ${
          verdict.partition[0].input.key
        } (${verdict.partition.length} operations, ` +
          `${
            verdict.partition.filter((o) => o.returnAt === Infinity).length
          } with unknown outcome)`,
      );
    }
    if (!verdict.ok) {
      const ops = verdict.partition.map((o) =>
        `  c${o.clientId} ${JSON.stringify(o.input)} -> ${
          JSON.stringify(o.output)
        } [${o.callAt}, ${o.returnAt}]`
      );
      this.#fail(
        "linearizability",
        `${verdict.reason}; history of key ${verdict.partition[0].input.key}:\n${ops.join("\n")}`,
      );
    }
    const ok = this.clients.history.filter((o) => o.returnAt !== Infinity).length;
    return {
      seed: p.seed,
      nodes: p.nodes,
      steps: p.steps,
      recoverySteps: this.step - start,
      leaderTerms: this.checkers.leaderTerms,
      committed: this.checkers.committedMax,
      ops: { ok, unknown: this.clients.history.length - ok },
      net: this.net.stats,
      faults: this.faults.stats,
      node: this.nodeStats,
    };
  }

  #oneStep(faulty: boolean): void {
    const now = this.step;
    if (faulty) this.faults.step(now);
    this.faults.restartDue(now);
    const nodes = [...this.cluster.nodes.values()];
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      if (n.up && this.rng.chance(this.params.tickRates[i % this.params.tickRates.length])) {
        n.tick();
      }
    }
    this.clients.step(faulty);
    for (const e of this.net.deliverable(now)) {
      if (e.payload.kind === "reply") this.clients.onReply(e.payload);
      else this.cluster.deliver(e);
    }
    this.cluster.processReadies(faulty ? this.params.slowRate : 0);
    this.cluster.check();
  }

  #calm(): void {
    this.faults.healAll(this.step);
    this.net.faults.dropRate = 0;
    this.net.faults.duplicateRate = 0;
    this.net.faults.maxDelaySteps = Math.min(this.net.faults.maxDelaySteps, 2);
    this.params.faults.readyCrashRate = 0;
    this.trace.add(this.step, () => "final phase: faults healed");
  }

  #allCaughtUp(): boolean {
    const leader = this.cluster.leader();
    if (!leader?.core) return false;
    const commit = leader.core.status().commit;
    const cs = leader.core.confState();
    const members = [...cs.voters, ...cs.learners];
    for (const id of members) this.faults.ensureRunning(id);
    return members.every((id) => {
      const n = this.cluster.nodes.get(id);
      return n?.up === true && n.appliedIndex >= commit;
    });
  }

  #describeNodes(): string {
    return [...this.cluster.nodes.values()].map((n) => {
      if (!n.core) return `${n.id}: down`;
      const s = n.core.status();
      const progress = Object.entries(s.progress).map(([id, p]) =>
        `${id}:${p.state} match=${p.match} next=${p.next}${p.paused ? " paused" : ""}${
          p.recentActive ? "" : " inactive"
        }${p.pendingSnapshot ? ` snap=${p.pendingSnapshot}` : ""}`
      );
      return `${n.id}: ${s.role}@${s.term} lead=${s.lead || "-"} commit=${s.commit} ` +
        `applied=${n.appliedIndex} log=[${s.firstIndex},${s.lastIndex}] voters=${s.config.voters} ` +
        `learners=${s.config.learners}${
          progress.length ? ` progress={${progress.join("; ")}}` : ""
        }`;
    }).join("\n  ");
  }

  /** Runs `f`, turning a checker failure or a core exception into a SimFailure. */
  #guard<T>(f: () => T): T {
    try {
      return f();
    } catch (err) {
      if (err instanceof SimFailure) throw err;
      if (err instanceof CheckFailure) this.#fail(err.check, err.message);
      const e = err as Error;
      this.#fail("exception", `${e.name}: ${e.message}\n${e.stack ?? ""}`);
    }
  }

  #fail(check: string, message: string): never {
    throw new SimFailure({
      seed: this.params.seed,
      step: this.step,
      check,
      message,
      trace: this.trace.lines(),
    });
  }
}
