/**
 * Node handlers: list, inspect, update availability/labels/role, remove.
 * @module
 */
import type { Node, NodeRole, NodeUpdate } from "../../proto/schema/mod.ts";
import { NotFoundError } from "../../proto/errors.ts";
import { type ApiContext, readBarrier, write } from "./context.ts";
import type { ClusterState } from "../state/fsm_state.ts";

/** Lists nodes (by host name), optionally of one role. */
export async function listNodes(
  ctx: ApiContext,
  opts: { stale: boolean; role?: NodeRole },
): Promise<{ nodes: Node[]; index: number }> {
  const s = await readBarrier(ctx, opts.stale);
  const nodes = [...s.nodes.values()]
    .filter((n) => !opts.role || n.role === opts.role)
    .sort((a, b) =>
      a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : a.id < b.id ? -1 : 1
    );
  return { nodes, index: ctx.store.index };
}

/** One node by ID or unique host name. */
export async function inspectNode(
  ctx: ApiContext,
  idOrName: string,
  stale: boolean,
): Promise<Node> {
  return findNode(await readBarrier(ctx, stale), idOrName);
}

/** Changes availability, role or labels. */
export async function updateNode(
  ctx: ApiContext,
  idOrName: string,
  update: NodeUpdate,
): Promise<Node> {
  const n = findNode(await readBarrier(ctx, false), idOrName);
  return write<Node>(ctx, { kind: "node.update", at: ctx.now(), id: n.id, update });
}

/** Removes a node from the cluster state (a ready node only with force). */
export async function removeNode(ctx: ApiContext, idOrName: string, force: boolean): Promise<void> {
  const n = findNode(await readBarrier(ctx, false), idOrName);
  await write(ctx, { kind: "node.remove", at: ctx.now(), id: n.id, force });
}

/** Finds a node by ID, else by host name (which must then be unique). */
export function findNode(s: ClusterState, idOrName: string): Node {
  const byId = s.nodes.get(idOrName);
  if (byId) return byId;
  const named = [...s.nodes.values()].filter((n) => n.hostname === idOrName);
  if (named.length === 1) return named[0];
  if (named.length > 1) {
    throw new NotFoundError(
      "node",
      `${idOrName}" is ambiguous (${named.length} nodes have that host name); use the node ID "`,
    );
  }
  throw new NotFoundError("node", idOrName);
}
