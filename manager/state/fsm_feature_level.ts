/**
 * Feature levels: what keeps managers of different binaries from applying one log differently
 * during a rolling upgrade (CockroachDB's cluster version, Nomad's "servers meet minimum version").
 *
 * Every Warren binary has a constant feature level, {@link BINARY_FEATURE_LEVEL}: the replicated
 * commands and semantics it understands. The replicated state records the cluster's *active*
 * level (`cluster.featureLevel` on the cluster record; absent: 1). Only the leader raises it, with
 * a `cluster.featureLevel` command, and only once every manager of the Raft configuration has
 * reported (on its node record, when it joins or starts) a binary of that level or higher; a new
 * cluster starts at the level of the binary that creates it. The level never goes down.
 *
 * A manager whose binary is below the active level must not apply the log: it may misunderstand
 * entries (a field it does not know is ignored, a kind it does not know applies nothing). It is
 * refused when it joins, and the FSM halts it ({@link FeatureLevelTooHighError}, a HaltingError
 * the Raft node stops on) when it replays or receives the entry, or a snapshot, that put the
 * cluster above its level; the daemon then exits with that error.
 *
 * ## The rule for contributors
 * A change to what a replicated command means (a new kind, a new field that changes how the FSM
 * applies it, a new meaning for an existing value) raises {@link BINARY_FEATURE_LEVEL} by one,
 * with a line in the list below, and is gated: nothing proposes the new command, or sets the
 * new field, until {@link clusterSupports} says the cluster's active level has reached it.
 * Where a user asked for the feature, {@link requireFeatureLevel} refuses with
 * FAILED_PRECONDITION naming the level and the managers still behind; where the system chose
 * it (an orchestrator), it keeps the old behaviour until the level is active. Old entries keep
 * their meaning forever (commands.ts): the new behaviour is keyed on the new field or kind.
 *
 * Levels:
 * - 1: everything up to Warren 0.1.0, every command kind and field of commands.ts as of then
 *   (`requestId`, `exclusivePorts`, `keepsUnchangedTasks`, `keepsPreviousSpec`, ...), and the
 *   `cluster.featureLevel` command itself.
 * - 2: `task.create` records on each task what it holds on its node (`Task.reserves`: the
 *   reservations, host ports and volumes of the spec it runs), which the scheduler counts
 *   instead of reading its service's spec ({@link TASK_RESERVES_LEVEL}). The orchestrator
 *   writes it only at this level: an older manager would strip the field, and its scheduler
 *   state would differ. Below it the FSM drops the field too, as such a manager would.
 * - 3: a command with a request ID carries `requestFingerprint`, a digest of the client's
 *   request, which the FSM records with the outcome and compares on a repeat: the ID reused for
 *   another request is refused instead of answered with the first one's outcome
 *   ({@link REQUEST_FINGERPRINT_LEVEL}). The API sets it only at this level: an older manager
 *   would not record it, and would answer such a reuse unlike the others.
 *
 * Pure (imported by the FSM: checked by tests/arch_test.ts).
 * @module
 */
import { FailedPreconditionError } from "../../proto/errors.ts";
import type { ClusterState } from "./fsm_state.ts";

/** The feature level of this Warren binary. Raise it with every change to command semantics. */
export const BINARY_FEATURE_LEVEL = 3;

/** The level from which the orchestrator records `Task.reserves` on the tasks it creates. */
export const TASK_RESERVES_LEVEL = 2;

/** The level from which commands carry `requestFingerprint` (manager/api/request_fingerprint.ts). */
export const REQUEST_FINGERPRINT_LEVEL = 3;

/** The level of a cluster, node or binary that recorded none: everything before levels existed. */
export const BASE_FEATURE_LEVEL = 1;

/** The cluster's active feature level (records from before it: {@link BASE_FEATURE_LEVEL}). */
export function activeFeatureLevel(s: Readonly<ClusterState>): number {
  return s.cluster?.featureLevel ?? BASE_FEATURE_LEVEL;
}

/** Whether the commands and semantics of `level` may be used: the cluster's level reached it. */
export function clusterSupports(s: Readonly<ClusterState>, level: number): boolean {
  return activeFeatureLevel(s) >= level;
}

/** A manager that reports a binary below some level. */
export interface ManagerBehind {
  nodeId: string;
  hostname: string | undefined;
  /** What it reported; undefined when no node record of it is known. */
  featureLevel: number | undefined;
}

/**
 * The managers among `managerIds` (by default every node record with the manager role) whose
 * binary is below `level` by what they reported; one with no node record counts as behind.
 */
export function managersBelow(
  s: Readonly<ClusterState>,
  level: number,
  managerIds?: Iterable<string>,
): ManagerBehind[] {
  const ids = managerIds ??
    [...s.nodes.values()].filter((n) => n.role === "manager").map((n) => n.id);
  const behind: ManagerBehind[] = [];
  for (const id of ids) {
    const n = s.nodes.get(id);
    const reported = n === undefined ? undefined : n.featureLevel ?? BASE_FEATURE_LEVEL;
    if (reported === undefined || reported < level) {
      behind.push({ nodeId: id, hostname: n?.hostname, featureLevel: reported });
    }
  }
  return behind;
}

/**
 * Refuses (FAILED_PRECONDITION) a use of `feature`, which needs feature level `level`, while the
 * cluster's active level is below it, naming the managers still behind. The API calls it before
 * proposing a command a user asked for that needs a newer level.
 */
export function requireFeatureLevel(
  s: Readonly<ClusterState>,
  level: number,
  feature: string,
  managerIds?: Iterable<string>,
): void {
  if (clusterSupports(s, level)) return;
  const behind = managersBelow(s, level, managerIds);
  const why = behind.length > 0
    ? `manager${behind.length > 1 ? "s" : ""} ${behind.map(describe).join(", ")} ${
      behind.length > 1 ? "run" : "runs"
    } an older Warren: upgrade ${behind.length > 1 ? "them" : "it"} first`
    : "every manager supports it: the leader raises the level shortly; retry";
  throw new FailedPreconditionError(
    `${feature} needs cluster feature level ${level}; the cluster is at level ${
      activeFeatureLevel(s)
    }: ${why}`,
  );
}

function describe(m: ManagerBehind): string {
  const name = m.hostname ? `"${m.hostname}" (${m.nodeId})` : m.nodeId;
  return `${name} at level ${m.featureLevel ?? "unknown"}`;
}

/**
 * The level the leader should raise the cluster to, or undefined when none: the lowest binary
 * level that the Raft configuration's members (`memberIds`) and every node recorded as a manager
 * report, capped at the leader's own binary level, when that is above the active level. A member
 * without a node record (joining) holds it back.
 *
 * Manager records outside the configuration count too (one whose join failed after it was
 * recorded, one not removed yet): the FSM refuses a raise past any of them ({@link managersBelow}),
 * and a raise proposed here that the FSM refuses would be proposed again, and refused again, at
 * every look of the leader, a log entry each time for as long as the record stays.
 */
export function levelToRaise(
  s: Readonly<ClusterState>,
  memberIds: Iterable<string>,
  binaryLevel: number,
): number | undefined {
  // The steady state (nothing to raise) costs no scan of the nodes, which the leader looks at often.
  if (!s.cluster || binaryLevel <= activeFeatureLevel(s)) return undefined;
  let target = binaryLevel;
  for (const id of memberIds) {
    const n = s.nodes.get(id);
    if (!n) return undefined;
    target = Math.min(target, n.featureLevel ?? BASE_FEATURE_LEVEL);
  }
  for (const n of s.nodes.values()) {
    if (n.role === "manager") target = Math.min(target, n.featureLevel ?? BASE_FEATURE_LEVEL);
  }
  return target > activeFeatureLevel(s) ? target : undefined;
}

/**
 * What to tell a manager whose binary (`binaryLevel`) is below the cluster's level, naming both.
 * `binary`: whose binary; `cluster`: what is at `clusterLevel`.
 */
export function belowLevelMessage(
  binaryLevel: number,
  clusterLevel: number,
  o: { binary?: string; cluster?: string } = {},
): string {
  return `${o.binary ?? "this manager's Warren binary"} supports feature level ${binaryLevel}, ` +
    `but ${o.cluster ?? "the cluster is"} at feature level ${clusterLevel}: it would ` +
    "misunderstand the cluster's log, so it must not apply it. Run a Warren binary of feature " +
    `level ${clusterLevel} or later on that manager (a cluster's feature level never goes down)`;
}

/**
 * A command or snapshot this binary cannot apply without misreading it. A HaltingError of the
 * Raft shell (manager/raft/state_machine.ts, by its `haltsNode` mark: a pure module imports no
 * shell): the node stops rather than skip it, and the daemon exits with the message.
 */
export class CannotApplyError extends FailedPreconditionError {
  readonly haltsNode = true as const;
}

/** This manager's binary is below the cluster's active feature level: it must not apply the log. */
export class FeatureLevelTooHighError extends CannotApplyError {
  /** The feature level of this binary. */
  readonly binaryLevel: number;
  /** The cluster's level, which this binary does not reach. */
  readonly clusterLevel: number;
  constructor(binaryLevel: number, clusterLevel: number, cluster?: string) {
    super(belowLevelMessage(binaryLevel, clusterLevel, cluster ? { cluster } : {}));
    this.binaryLevel = binaryLevel;
    this.clusterLevel = clusterLevel;
  }
}

/** A command of a kind this binary does not know: a newer manager proposed it. */
export class UnknownCommandError extends CannotApplyError {
  constructor(kind: string, binaryLevel: number) {
    super(
      `this manager's Warren binary (feature level ${binaryLevel}) does not know the replicated ` +
        `command "${kind}": it stops rather than skip it. Upgrade Warren on this manager`,
    );
  }
}
