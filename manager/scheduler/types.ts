/**
 * The scheduler's inputs and output. The input is a narrow snapshot (not the replicated store
 * itself) so tests build it tersely and the leader feeds it from the store
 * (see from_state.ts); the output is a {@link Plan} with named buckets, which the single writer
 * re-validates with `checkPlan` before it becomes a Raft command.
 * @module
 */
import type { Node, ServiceSpec, Volume } from "../../proto/schema/mod.ts";
import type { Rand } from "../raft/core/prng.ts";

/** What the scheduler reads of a node. A full {@link Node} fits. */
export type SchedulerNode =
  & Pick<Node, "id" | "hostname" | "role" | "labels" | "resources" | "platform" | "availability">
  & { status: Pick<Node["status"], "state"> };

/** What the scheduler reads of a service spec. A full {@link ServiceSpec} fits. */
export type SchedulerServiceSpec = Pick<
  ServiceSpec,
  | "name"
  | "mode"
  | "resources"
  | "constraints"
  | "preferences"
  | "maxReplicasPerNode"
  | "ports"
  | "mounts"
>;

/** A service as the scheduler sees it. A full `Service` fits. */
export interface SchedulerService {
  /** Service ID. */
  id: string;
  /** The current spec: new tasks are placed with it. */
  spec: SchedulerServiceSpec;
}

/** CPU and memory a task sets aside on its node. */
export interface Reservation {
  /** CPU in units of 1e-9 cores. */
  nanoCpus: number;
  /** Memory in bytes. */
  memoryBytes: number;
}

/**
 * A task that already occupies a node: assigned and not yet terminal. Its reservation, ports and
 * volumes come from the spec version it runs, which may differ from the service's current spec
 * during a rolling update, so they are carried here rather than looked up.
 */
export interface SchedulerTask {
  /** Task ID. */
  id: string;
  /** Owning service. */
  serviceId: string;
  /** The node it is assigned to. */
  nodeId: string;
  /** Resources it reserves there. */
  reservations: Reservation;
  /** Host-mode published ports it binds, as `port/protocol` (e.g. `8080/tcp`). */
  hostPorts: readonly string[];
  /** Names of the volumes it mounts. */
  volumes: readonly string[];
  /** The manager asked it to stop (desired state terminal) but it still holds its resources. */
  stopping?: boolean;
}

/** What the scheduler reads of a volume. A full {@link Volume} fits. */
export type SchedulerVolume = Pick<Volume, "id" | "name" | "nodeId">;

/** Everything the scheduler decides over. */
export interface SchedulerSnapshot {
  /** All nodes, in any order (the order is part of the determinism contract). */
  nodes: readonly SchedulerNode[];
  /** Non-terminal tasks that are assigned to a node. */
  tasks: readonly SchedulerTask[];
  /** Services by ID. */
  services: ReadonlyMap<string, SchedulerService>;
  /** Volumes. */
  volumes: readonly SchedulerVolume[];
}

/** One task to place. */
export interface WorkItem {
  /** Task ID. */
  taskId: string;
  /** Owning service (its current spec is used). */
  serviceId: string;
  /** Slot of a replicated task (informational; placement does not depend on it). */
  slot?: number;
  /** For a global task: the only node it may run on. */
  nodeId?: string;
  /**
   * Platforms the task's image supports, as `os/arch[/variant]` (e.g. `linux/amd64`); absent or
   * empty means any. Service specs do not carry this: the caller learns it from the image index.
   */
  imagePlatforms?: readonly string[];
}

/** What to schedule. */
export interface Work {
  /** Tasks to place, in the order they should be considered. */
  place: readonly WorkItem[];
}

/** How feasible nodes are ranked. */
export type Strategy = "spread" | "binpack";

/** Injected time and randomness, plus the ranking strategy. */
export interface ScheduleOptions {
  /** Current time (ms); stamped on the plan. */
  now: number;
  /** Seeded PRNG: ties are broken with it, deterministically for a given seed. */
  rand: Rand;
  /** `spread` (default): fewest tasks first. `binpack`: most reserved node that fits first. */
  strategy?: Strategy;
}

/** A task assigned to a node. */
export interface Placement {
  /** Task ID. */
  taskId: string;
  /** Owning service. */
  serviceId: string;
  /** Chosen node. */
  nodeId: string;
}

/** A running task the plan stops, and why. */
export interface StopOrder {
  /** Task ID. */
  taskId: string;
  /** Owning service. */
  serviceId: string;
  /** Node it runs on. */
  nodeId: string;
  /** Why, e.g. `node worker-2 is drained`. */
  reason: string;
}

/** A task that fits nowhere, and why. */
export interface PendingTask {
  /** Task ID. */
  taskId: string;
  /** Owning service. */
  serviceId: string;
  /** E.g. `no suitable node (3 nodes: 2 lack 2 GiB memory, 1 is drained)`. */
  reason: string;
}

/** An unbound local volume that this plan creates on a node (and binds to it). */
export interface VolumeBinding {
  /** Volume name (as mounted). */
  volumeName: string;
  /** Volume ID when the volume object exists; absent for a volume created on demand. */
  volumeId?: string;
  /** Node it is created on. */
  nodeId: string;
}

/** The scheduler's decision. Buckets are ordered; each task appears in at most one. */
export interface Plan {
  /** `now` of the scheduling run. */
  createdAtMs: number;
  /** New assignments. */
  place: Placement[];
  /**
   * Running tasks to stop; empty here: the orchestrator moves tasks off drained, down or no
   * longer matching nodes itself (manager/orchestrator/node_facts.ts), and a changed
   * `maxReplicasPerNode` or constraint is a new task definition, rolled out as an update.
   */
  stop: StopOrder[];
  /** In-place changes to running tasks; reserved for rolling-update callers (empty here). */
  update: Placement[];
  /** Tasks that fit nowhere now. */
  pending: PendingTask[];
  /** Volumes created by placements in `place`. */
  volumeBindings: VolumeBinding[];
}

/** An empty plan stamped `now`. */
export function emptyPlan(now: number): Plan {
  return { createdAtMs: now, place: [], stop: [], update: [], pending: [], volumeBindings: [] };
}
