/**
 * The node facts the reconcilers decide with ({@link NodeFacts}), from the replicated state and
 * the scheduler's view of it (pure): where a replicated task must move away from, and which
 * nodes' tasks will never report again.
 *
 * A task moves away from a node that is drained, removed, down past the service's disconnect
 * grace, or that no longer satisfies the service's constraints: its labels (or role) changed
 * under a running task. The last is Swarm's constraint enforcer; without it `node update
 * --label-rm` left the task where the operator had just said it must not run. (Global
 * services leave such nodes through their eligibility, eligibility.ts.)
 * @module
 */
import type { Node, Service } from "../../proto/schema/mod.ts";
import type { ClusterState } from "../state/fsm_state.ts";
import type { ClusterView } from "../scheduler/cluster_view.ts";
import { firstViolated } from "../scheduler/filters/constraints.ts";
import { resolveRequest, type TaskRequest } from "../scheduler/request.ts";
import type { NodeFacts } from "./replicated.ts";

/** Options of {@link nodeFacts}. */
export interface NodeFactsOptions {
  /** A node silent for this long is marked down (its grace counts from then). */
  nodeDownAfterMs: number;
  /** Called with the time a down node's grace ends, so a pass runs then. */
  wake: (at: number) => void;
}

/** The facts over `state` and `view` (the same state, as the scheduler sees it). */
export function nodeFacts(
  state: Pick<ClusterState, "nodes">,
  view: ClusterView,
  o: NodeFactsOptions,
): NodeFacts {
  /** Why `nodeId`'s tasks are gone for good; while a down node is within the grace, none. */
  const gone = (nodeId: string, service: Service, now: number) => {
    const n: Node | undefined = state.nodes.get(nodeId);
    if (!n) return `node ${nodeId} was removed`;
    if (n.status.state === "down") {
      const downSince = n.status.lastHeartbeatAt + o.nodeDownAfterMs;
      if (now - downSince >= service.spec.disconnectGraceMs) return `node ${n.hostname} is down`;
      o.wake(downSince + service.spec.disconnectGraceMs);
    }
    return undefined;
  };
  // Constraints parsed once per service object (a pass sees one object per service).
  const requests = new WeakMap<Service, TaskRequest | string>();
  const unsatisfied = (nodeId: string, service: Service) => {
    if (service.spec.constraints.length === 0) return undefined;
    const info = view.byId.get(nodeId);
    if (!info) return undefined;
    let req = requests.get(service);
    if (req === undefined) requests.set(service, req = resolveRequest(service, undefined));
    // An invalid constraint places nothing anywhere: the scheduler says so on pending tasks.
    if (typeof req === "string") return undefined;
    const i = firstViolated(req.constraints, info.node);
    return i < 0
      ? undefined
      : `node ${info.node.hostname} no longer satisfies ${req.constraintTexts[i]}`;
  };
  return {
    evacuate: (nodeId, service, now) => {
      const n: Node | undefined = state.nodes.get(nodeId);
      if (n?.availability === "drain") return `node ${n.hostname} is drained`;
      return gone(nodeId, service, now) ?? unsatisfied(nodeId, service);
    },
    lost: (nodeId, service, now) => gone(nodeId, service, now) !== undefined,
  };
}
