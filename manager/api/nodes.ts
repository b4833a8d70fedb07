/**
 * Node handlers: list, inspect, update availability/labels, remove. A node's role is fixed by
 * the token it joined with: changing it would need Raft membership and a new certificate, so
 * the API refuses rather than rewrite a field that changes nothing.
 * @module
 */
import type { Node, NodeRole, NodeUpdate } from "../../proto/schema/mod.ts";
import {
  FailedPreconditionError,
  NotFoundError,
  NotLeaderError,
  ValidationError,
} from "../../proto/errors.ts";
import type { Status } from "../raft/core/status.ts";
import { answerOnce, type ApiContext, idByPrefix, readBarrier, write } from "./context.ts";
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

/** Changes availability or labels; a change of role is refused (see the module doc). */
export function updateNode(
  ctx: ApiContext,
  idOrName: string,
  update: NodeUpdate,
): Promise<Node> {
  return answerOnce(ctx, "node.update", () => ({ id: idOrName, update }), async (ctx) => {
    const n = findNode(await readBarrier(ctx, false), idOrName);
    if (update.role !== undefined && update.role !== n.role) {
      throw new FailedPreconditionError(
        `changing a node's role is not supported: a manager leaves with 'warren cluster leave' and rejoins with a worker token, a worker with a manager token (node "${n.hostname}" stays a ${n.role})`,
      );
    }
    return write<Node>(ctx, { kind: "node.update", at: ctx.now(), id: n.id, update });
  });
}

/**
 * Removes a node from the cluster state (a ready node only with force). A manager that is still
 * a Raft member is refused without force: it should leave itself (`warren cluster leave`), else
 * it would stay a voter that counts against the quorum forever. With force, a manager that is
 * down is first removed from Raft, as `cluster leave` does, if {@link managerRemovalRefusal}
 * finds that safe.
 */
export async function removeNode(ctx: ApiContext, idOrName: string, force: boolean): Promise<void> {
  await answerOnce(
    ctx,
    "node.remove",
    () => ({ id: idOrName, force }),
    (ctx) => removeNodeOnce(ctx, idOrName, force),
    () => {},
  );
}

async function removeNodeOnce(ctx: ApiContext, idOrName: string, force: boolean): Promise<void> {
  const n = findNode(await readBarrier(ctx, false), idOrName);
  const status = ctx.raft.status();
  const member = ctx.raft.members[n.id] !== undefined ||
    status.config.voters.includes(n.id) || status.config.learners.includes(n.id);
  if (member) {
    const what = `node "${n.hostname}" (${n.id}) is a manager and a member of Raft`;
    if (!force) {
      throw new FailedPreconditionError(
        `${what}: run 'warren cluster leave' on it, or if it is down for good remove it with --force`,
      );
    }
    // Only the leader knows which managers it hears from.
    if (!ctx.raft.leader.isLeader) throw new NotLeaderError(ctx.raft.leader.leaderId || undefined);
    // The leader forgets whom it heard from at every check-quorum round (an election timeout)
    // and hears again within a heartbeat: judge by what it heard over a little more than one
    // round, so a running manager is never taken for a down one.
    const heard = await heardOver(ctx, ROUND_SAMPLES, ROUND_SAMPLE_MS);
    const refusal = managerRemovalRefusal(heard, n.id);
    if (refusal) throw new FailedPreconditionError(`${what}: ${refusal.reason}`);
    await ctx.raft.removeMember(n.id);
  }
  await write(ctx, { kind: "node.remove", at: ctx.now(), id: n.id, force: force || member });
}

/**
 * Samples of the leader's Raft status taken to cover a check-quorum round: 550 ms, more than
 * the 300 ms election timeout of the default 50 ms tick (6 ticks).
 */
const ROUND_SAMPLES = 12;
const ROUND_SAMPLE_MS = 50;

/** The leader's status with `recentActive` true for every follower heard in any of the samples. */
async function heardOver(ctx: ApiContext, samples: number, intervalMs: number): Promise<Status> {
  const first = ctx.raft.status();
  const progress = structuredClone(first.progress);
  for (let i = 1; i < samples; i++) {
    await new Promise((r) => setTimeout(r, intervalMs));
    for (const [id, p] of Object.entries(ctx.raft.status().progress)) {
      if (p.recentActive && progress[id]) progress[id].recentActive = true;
    }
  }
  return { ...first, progress };
}

/**
 * Why the leader (whose Raft status is `status`) must not remove manager `nodeId` from Raft on
 * `node rm --force`, or undefined when it may: the manager must not be the leader itself nor one
 * the leader still hears from (a running manager leaves with `cluster leave`), and the managers
 * the leader hears from, without it, must be a majority of the current voters, so the change
 * commits and the smaller group keeps its quorum.
 */
export function managerRemovalRefusal(
  status: Status,
  nodeId: string,
): { reason: string } | undefined {
  if (nodeId === status.id) {
    return {
      reason: "it is the leader answering this request: run 'warren cluster leave' on it",
    };
  }
  if (status.progress[nodeId]?.recentActive) {
    return {
      reason: "the leader still hears from it: run 'warren cluster leave' on it, or stop it first",
    };
  }
  const voters = status.config.voters;
  if (!voters.includes(nodeId)) return undefined; // a learner never counted toward the quorum
  const live = voters.filter((id) => id === status.id || status.progress[id]?.recentActive);
  if (live.length * 2 <= voters.length) {
    return {
      reason:
        `only ${live.length} of the ${voters.length} managers are reachable, not a majority: removing it would not commit; bring a manager back first`,
    };
  }
  return undefined;
}

/** Finds a node by ID, else by host name (which must then be unique). */
export function findNode(s: ClusterState, idOrName: string): Node {
  const byId = s.nodes.get(idOrName);
  if (byId) return byId;
  const named = [...s.nodes.values()].filter((n) => n.hostname === idOrName);
  if (named.length === 1) return named[0];
  if (named.length === 0) {
    const id = idByPrefix(s.nodes.keys(), idOrName, "node");
    if (id !== undefined) return s.nodes.get(id)!;
  }
  if (named.length > 1) {
    throw new ValidationError(
      "node",
      `host name "${idOrName}" is ambiguous: ${named.length} nodes have it (${
        named.map((n) => n.id).sort().join(", ")
      }); use the node ID`,
    );
  }
  throw new NotFoundError("node", idOrName);
}
