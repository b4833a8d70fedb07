/**
 * The filter pipeline, in the order nodes are checked. The first rejection is the one a user
 * sees, so cheap, obvious reasons (drained, constraint) come before capacity ones.
 * @module
 */
import type { Filter } from "../filter.ts";
import { constraintsFilter } from "./constraints.ts";
import { hostPortsFilter } from "./host_ports.ts";
import { maxReplicasFilter } from "./max_replicas.ts";
import { nodeReadyFilter } from "./node_ready.ts";
import { platformFilter } from "./platform.ts";
import { resourcesFilter } from "./resources.ts";
import { volumesFilter } from "./volumes.ts";

export { constraintsFilter, firstViolated, matchConstraint } from "./constraints.ts";
export { hostPortsFilter } from "./host_ports.ts";
export { maxReplicasFilter } from "./max_replicas.ts";
export { nodeReadyFilter } from "./node_ready.ts";
export { platformFilter } from "./platform.ts";
export { resourcesFilter } from "./resources.ts";
export { volumesFilter } from "./volumes.ts";

/** Every filter, in pipeline order. */
export const FILTERS: readonly Filter[] = [
  nodeReadyFilter,
  constraintsFilter,
  platformFilter,
  volumesFilter,
  resourcesFilter,
  hostPortsFilter,
  maxReplicasFilter,
];

/** Filters whose answer depends only on the node and the spec (evaluated once per service). */
export const STATIC_FILTERS: readonly Filter[] = FILTERS.filter((f) => !f.dynamic);

/** Filters whose answer depends on what is placed (evaluated per placement attempt). */
export const DYNAMIC_FILTERS: readonly Filter[] = FILTERS.filter((f) => f.dynamic);
