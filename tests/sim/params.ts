/**
 * The knobs of one simulation run, drawn from the seed: cluster size, Raft configuration, network
 * and disk fault rates, client load. Drawing them from the seed (rather than fixing them) makes
 * the seeds explore different regimes: calm or lossy networks, frequent or rare crashes, tiny or
 * large snapshot chunks.
 * @module
 */
import type { SimRng } from "./rng.ts";

/**
 * Deliberate bugs a test can plant to prove the checkers fail. Never set in normal runs.
 */
export interface PlantedBugs {
  /** The shell sends a Ready's messages before persisting it (votes and acks are not durable). */
  sendBeforePersist?: boolean;
  /** The disk loses recently synced writes on a crash, not only the unsynced ones. */
  loseSyncedWrites?: boolean;
  /**
   * A node that grants a vote restarts at once and forgets whom it voted for (its disk is fine,
   * its shell drops the vote), so a second candidate of the same term can get its vote too.
   */
  forgetVote?: boolean;
  /** Nodes answer gets from their local state at once, without ReadIndex (stale reads). */
  staleReads?: boolean;
}

/** What the caller chooses; everything else comes from the seed. */
export interface SimOptions {
  seed: number;
  /** 3 or 5 initial voters; default: chosen by the seed. */
  nodes?: 3 | 5;
  /** Steps of the faulty phase; default 1500. */
  steps?: number;
  /** Record a trace of events (printed on failure). */
  verbose?: boolean;
  /** How many trace events to keep (default 50). */
  traceLines?: number;
  /** Bugs to plant (tests of the simulator itself). */
  bugs?: PlantedBugs;
  /**
   * Sync exactly when a Ready says mustSync, even when it carries a snapshot. Off by default:
   * the core (manager/raft/core/raft_core.ts) leaves mustSync false for a Ready that only installs
   * a snapshot, yet acknowledges the snapshot as durable, so the shell syncs snapshots too (see
   * README.md, "Known core issues").
   */
  strictMustSync?: boolean;
  /** Adjusts the drawn parameters (tests use it, e.g. to crash more often). */
  adjust?: (params: SimParams) => void;
}

/** The resolved parameters of one run. */
export interface SimParams {
  seed: number;
  nodes: number;
  steps: number;
  /** Steps allowed after the final heal for a leader to be elected and everything to catch up. */
  quiesceSteps: number;
  verbose: boolean;
  traceLines: number;
  bugs: PlantedBugs;
  strictMustSync: boolean;
  raft: {
    electionTicks: number;
    heartbeatTicks: number;
    preVote: boolean;
    checkQuorum: boolean;
    maxSizePerMsgBytes: number;
    maxInflightMsgs: number;
    snapshotChunkBytes: number;
    maxInflightSnapshotChunks: number;
    /** How reads are confirmed; "lease" needs checkQuorum. Default "safe" (see README). */
    readOnly: "safe" | "lease";
  };
  net: {
    /** Share of Raft messages sent through the wire codec (the rest are copied). */
    codecShare: number;
    /** Delivery delay in steps is uniform in [1, maxDelaySteps]. */
    maxDelaySteps: number;
    dropRate: number;
    duplicateRate: number;
  };
  faults: {
    /** Per step: chance to start a partition when none is active. */
    partitionRate: number;
    /** Per step: chance to crash a running node. */
    crashRate: number;
    /** Per Ready crash point: chance to crash there. */
    readyCrashRate: number;
    /** A crashed node restarts after a downtime uniform in [1, maxDowntimeSteps]. */
    maxDowntimeSteps: number;
    /** Per step: chance to ask the leader for a leadership transfer. */
    transferRate: number;
    /** Per step: chance to attempt a membership change. */
    confChangeRate: number;
  };
  /** Per node: probability that the node's clock ticks in a step (clock skew). */
  tickRates: number[];
  /** Per step: chance a node's Ready handling is postponed (a slow disk or busy node). */
  slowRate: number;
  kv: {
    /** Take a snapshot and compact every this many applied entries. */
    snapshotEvery: number;
    clients: number;
    keys: number;
    /** Per step: chance an idle client starts an operation. */
    opRate: number;
    /** Share of gets served as log entries rather than ReadIndex. */
    logReadShare: number;
  };
}

/** Draws the parameters of a run from its seed. */
export function drawParams(opts: SimOptions, rng: SimRng): SimParams {
  const nodes = opts.nodes ?? (rng.chance(0.5) ? 3 : 5);
  const electionTicks = rng.range(8, 16);
  const calm = rng.chance(0.15);
  const skewed = rng.chance(0.5);
  const checkQuorum = rng.chance(0.8);
  const params: SimParams = {
    seed: opts.seed,
    nodes,
    steps: opts.steps ?? 1500,
    quiesceSteps: 1500,
    verbose: opts.verbose ?? false,
    traceLines: opts.traceLines ?? 50,
    bugs: opts.bugs ?? {},
    strictMustSync: opts.strictMustSync ?? true,
    raft: {
      electionTicks,
      heartbeatTicks: rng.range(1, 3),
      preVote: rng.chance(0.8),
      checkQuorum,
      maxSizePerMsgBytes: rng.pick([64, 256, 4096, 1 << 20]),
      maxInflightMsgs: rng.pick([1, 2, 4, 16, 256]),
      snapshotChunkBytes: rng.pick([16, 48, 128, 1024]),
      maxInflightSnapshotChunks: rng.range(1, 4),
      // Lease reads trust that clocks advance at the same rate (no skew), as etcd's do.
      readOnly: checkQuorum && !skewed && rng.chance(0.4) ? "lease" : "safe",
    },
    net: {
      codecShare: 0.1,
      maxDelaySteps: rng.range(1, 4),
      dropRate: calm ? 0 : rng.pick([0, 0.01, 0.05, 0.15]),
      duplicateRate: calm ? 0 : rng.pick([0, 0.01, 0.05]),
    },
    faults: {
      partitionRate: calm ? 0 : rng.pick([0, 0.003, 0.01, 0.03]),
      crashRate: calm ? 0 : rng.pick([0, 0.002, 0.006, 0.015]),
      readyCrashRate: calm ? 0 : rng.pick([0, 0.0005, 0.002]),
      maxDowntimeSteps: rng.pick([5, 50, 150]),
      transferRate: rng.pick([0, 0.002, 0.01]),
      confChangeRate: rng.pick([0, 0.003, 0.01]),
    },
    tickRates: Array.from(
      { length: nodes + 8 },
      () => skewed && rng.chance(0.5) ? 0.6 + rng.float() * 0.4 : 1,
    ),
    slowRate: rng.pick([0, 0.05, 0.3]),
    kv: {
      snapshotEvery: rng.pick([4, 10, 25, 60]),
      clients: rng.range(2, 5),
      keys: rng.range(1, 4),
      opRate: rng.pick([0.1, 0.3, 0.8]),
      logReadShare: rng.pick([0, 0.2, 0.5]),
    },
  };
  opts.adjust?.(params);
  return params;
}
