/**
 * Per-node counters the filters and the ranking read: resources reserved, tasks in total and per
 * service, host ports in use. Built once per scheduling run from the snapshot and updated as the
 * plan places tasks, so a later placement in the same plan sees the earlier ones and nothing is
 * recounted (placing is O(1) on the counters).
 * @module
 */
import type { Reservation, SchedulerNode } from "./types.ts";

/** What one placement adds to a node. */
export interface NodeLoad {
  /** Owning service. */
  serviceId: string;
  /** Resources reserved. */
  reservations: Reservation;
  /** Host ports bound, `port/protocol`. */
  hostPorts: readonly string[];
}

/** A node plus what is already assigned to it. */
export class NodeInfo {
  /** The node. */
  readonly node: SchedulerNode;
  /** Position in the snapshot's node list (stable, used for per-run arrays). */
  readonly index: number;
  /** CPU reserved by non-terminal tasks (nano-CPUs). */
  reservedNanoCpus = 0;
  /** Memory reserved by non-terminal tasks (bytes). */
  reservedMemoryBytes = 0;
  /** Non-terminal tasks of any service. */
  taskCount = 0;
  /** Host ports in use, `port/protocol`. */
  readonly hostPorts: Set<string> = new Set();
  readonly #perService: Map<string, number> = new Map();

  constructor(node: SchedulerNode, index: number) {
    this.node = node;
    this.index = index;
  }

  /** Non-terminal tasks of `serviceId` on this node. */
  countOf(serviceId: string): number {
    return this.#perService.get(serviceId) ?? 0;
  }

  /** CPU still free (may be negative if the node was oversubscribed before shrinking). */
  get freeNanoCpus(): number {
    return this.node.resources.nanoCpus - this.reservedNanoCpus;
  }

  /** Memory still free. */
  get freeMemoryBytes(): number {
    return this.node.resources.memoryBytes - this.reservedMemoryBytes;
  }

  /** Share of the node reserved, 0..2 (CPU share + memory share); the binpack key. */
  get utilization(): number {
    const { nanoCpus, memoryBytes } = this.node.resources;
    return (nanoCpus > 0 ? this.reservedNanoCpus / nanoCpus : 0) +
      (memoryBytes > 0 ? this.reservedMemoryBytes / memoryBytes : 0);
  }

  /** Records a task on this node. */
  add(load: NodeLoad): void {
    this.reservedNanoCpus += load.reservations.nanoCpus;
    this.reservedMemoryBytes += load.reservations.memoryBytes;
    this.taskCount++;
    this.#perService.set(load.serviceId, this.countOf(load.serviceId) + 1);
    for (const p of load.hostPorts) this.hostPorts.add(p);
  }
}
