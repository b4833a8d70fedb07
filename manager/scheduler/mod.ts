/**
 * The pure scheduler: `schedule(snapshot, work, {now, rand}) → Plan` and the plan applier's
 * `checkPlan(plan, latest)`. No I/O, no clock, no ambient randomness. See README.md.
 * @module
 */
export * from "./types.ts";
export { schedule } from "./schedule.ts";
export { type CheckedPlan, checkPlan, type RejectedPlacement } from "./check_plan.ts";
export { schedulerTask, snapshotFromState } from "./from_state.ts";
export { explainNoNode, explainOnNode } from "./explain.ts";
export {
  type Filter,
  type FilterContext,
  type FilterResult,
  type Rejection,
  runFilters,
} from "./filter.ts";
export { DYNAMIC_FILTERS, FILTERS, nodeReadyFilter, STATIC_FILTERS } from "./filters/mod.ts";
export {
  type ImagePlatform,
  parseImagePlatform,
  resolveRequest,
  type TaskRequest,
} from "./request.ts";
export { ClusterView } from "./cluster_view.ts";
export { NodeInfo, type NodeLoad } from "./node_info.ts";
export { type Rand, xoshiro128 } from "../raft/core/prng.ts";
