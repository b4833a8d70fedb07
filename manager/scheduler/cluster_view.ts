/**
 * The mutable working copy of a snapshot during one scheduling run (or one plan check): node
 * counters plus volume bindings, updated by every placement so later decisions see earlier
 * ones. It is also the {@link FilterContext} the filters read.
 * @module
 */
import type { FilterContext } from "./filter.ts";
import { NodeInfo } from "./node_info.ts";
import type { TaskRequest } from "./request.ts";
import type { SchedulerSnapshot, SchedulerTask, VolumeBinding } from "./types.ts";

/** Node counters and volume bindings for one run. */
export class ClusterView implements FilterContext {
  /** One entry per snapshot node, in snapshot order (`infos[i].index === i`). */
  readonly infos: readonly NodeInfo[];
  /** The same entries by node ID. */
  readonly byId: ReadonlyMap<string, NodeInfo>;
  /** Assigned non-terminal tasks by service ID, in snapshot order. */
  readonly tasksByService: ReadonlyMap<string, readonly SchedulerTask[]>;
  readonly #placedByService = new Map<string, NodeInfo[]>();
  readonly #volumeNode = new Map<string, string>();
  readonly #volumeId = new Map<string, string>();

  /** Builds the counters from `snapshot`: O(nodes + tasks). Tasks on unknown nodes are ignored. */
  constructor(snapshot: SchedulerSnapshot) {
    const infos = snapshot.nodes.map((n, i) => new NodeInfo(n, i));
    const byId = new Map(infos.map((info) => [info.node.id, info]));
    const tasksByService = new Map<string, SchedulerTask[]>();
    for (const v of snapshot.volumes) {
      this.#volumeId.set(v.name, v.id);
      if (v.nodeId !== undefined) this.#volumeNode.set(v.name, v.nodeId);
    }
    for (const t of snapshot.tasks) {
      let list = tasksByService.get(t.serviceId);
      if (!list) tasksByService.set(t.serviceId, list = []);
      list.push(t);
      const info = byId.get(t.nodeId);
      if (!info) continue;
      info.add(t);
      // A volume without a recorded node lives where a task already uses it.
      for (const v of t.volumes) if (!this.#volumeNode.has(v)) this.#volumeNode.set(v, t.nodeId);
    }
    this.infos = infos;
    this.byId = byId;
    this.tasksByService = tasksByService;
  }

  /**
   * Tasks of `serviceId` per node, indexed by `NodeInfo.index`, counting this run's placements.
   * O(tasks of the service): the ranking reads this array instead of a map lookup per node.
   */
  serviceCounts(serviceId: string): Int32Array {
    const counts = new Int32Array(this.infos.length);
    for (const t of this.tasksByService.get(serviceId) ?? []) {
      const info = this.byId.get(t.nodeId);
      if (info) counts[info.index]!++;
    }
    for (const info of this.#placedByService.get(serviceId) ?? []) counts[info.index]!++;
    return counts;
  }

  /** Node a volume lives on, if it is bound. */
  volumeNodeId(volumeName: string): string | undefined {
    return this.#volumeNode.get(volumeName);
  }

  /** Hostname of a node, or the ID when the node is unknown. */
  nodeName(nodeId: string): string {
    return this.byId.get(nodeId)?.node.hostname ?? nodeId;
  }

  /**
   * Records a task of `req` on `info`: counters grow and unbound volumes it mounts become bound
   * to the node. Returns the new bindings (for `Plan.volumeBindings`).
   */
  place(info: NodeInfo, req: TaskRequest): VolumeBinding[] {
    info.add(req);
    let placed = this.#placedByService.get(req.serviceId);
    if (!placed) this.#placedByService.set(req.serviceId, placed = []);
    placed.push(info);
    if (req.volumes.length === 0) return NO_BINDINGS;
    const bindings: VolumeBinding[] = [];
    for (const name of req.volumes) {
      if (this.#volumeNode.has(name)) continue;
      const nodeId = info.node.id;
      this.#volumeNode.set(name, nodeId);
      const volumeId = this.#volumeId.get(name);
      bindings.push(
        volumeId === undefined ? { volumeName: name, nodeId } : {
          volumeName: name,
          volumeId,
          nodeId,
        },
      );
    }
    return bindings;
  }
}

const NO_BINDINGS: VolumeBinding[] = [];
