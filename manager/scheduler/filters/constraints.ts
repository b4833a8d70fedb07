/**
 * Placement constraints (`node.labels.zone==edge`, `node.role!=manager`, ...): every constraint
 * of the service must hold. Values compare case-insensitively, as in Swarm; `!=` also matches a
 * node that lacks the label.
 * @module
 */
import type { Constraint } from "../../../proto/schema/mod.ts";
import type { Filter, FilterResult } from "../filter.ts";
import type { NodeInfo } from "../node_info.ts";
import { normalizeArch, type TaskRequest } from "../request.ts";
import type { SchedulerNode } from "../types.ts";

function attributeValue(c: Constraint, node: SchedulerNode): string | undefined {
  switch (c.attribute) {
    case "node.id":
      return node.id;
    case "node.hostname":
      return node.hostname;
    case "node.role":
      return node.role;
    case "node.platform.os":
      return node.platform.os;
    case "node.platform.arch":
      return node.platform.arch;
    case "node.labels":
      return Object.hasOwn(node.labels, c.label!) ? node.labels[c.label!] : undefined;
  }
}

/** Whether `node` satisfies one parsed constraint. */
export function matchConstraint(c: Constraint, node: SchedulerNode): boolean {
  const actual = attributeValue(c, node);
  let want = c.value;
  let have = actual;
  if (c.attribute === "node.platform.arch") {
    want = normalizeArch(want);
    have = actual === undefined ? undefined : normalizeArch(actual);
  }
  const equal = have !== undefined && have.toLowerCase() === want.toLowerCase();
  return c.operator === "==" ? equal : !equal;
}

/** Index of the first constraint `node` violates, or -1 when all hold. */
export function firstViolated(constraints: readonly Constraint[], node: SchedulerNode): number {
  for (let i = 0; i < constraints.length; i++) {
    if (!matchConstraint(constraints[i]!, node)) return i;
  }
  return -1;
}

/** Rejects nodes that violate one of the service's constraints, naming the first one. */
export const constraintsFilter: Filter = {
  name: "constraints",
  dynamic: false,
  check(info: NodeInfo, task: TaskRequest): FilterResult {
    const i = firstViolated(task.constraints, info.node);
    return i < 0 ? "ok" : { reason: `does not satisfy ${task.constraintTexts[i]}` };
  },
};
