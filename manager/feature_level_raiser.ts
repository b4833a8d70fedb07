/**
 * Raises the cluster's feature level (manager/state/fsm_feature_level.ts) once every manager of the
 * Raft configuration, voters and learners, has reported a binary of the new level: the last
 * step of a rolling upgrade. Runs on every manager and acts only while it leads, as the learner
 * promoter does (raft_membership.ts). A membership change makes no store event, so it polls.
 * @module
 */
import { type ApiContext, write } from "./api/context.ts";
import { levelToRaise } from "./state/fsm_feature_level.ts";

/** Options of {@link raiseFeatureLevelWhenReady}. */
export interface FeatureLevelRaiserOptions {
  /** The feature level of this manager's binary: the highest it raises to. */
  binaryLevel: number;
  /** Hears a raise the FSM refused (a manager registered an older binary meanwhile). */
  onError: (err: unknown) => void;
  /** Hears each raise that applied. */
  onRaised?: (level: number) => void;
  /** How often the leader looks. Default 200 ms. */
  intervalMs?: number;
}

/** Starts the raise loop; returns a function that stops it. */
export function raiseFeatureLevelWhenReady(
  ctx: ApiContext,
  o: FeatureLevelRaiserOptions,
): () => void {
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || !ctx.raft.leader.isLeader) return;
    const { voters, learners } = ctx.raft.status().config;
    const level = levelToRaise(ctx.store.state, [...voters, ...learners], o.binaryLevel);
    if (level === undefined) return;
    busy = true;
    try {
      await write(ctx, { kind: "cluster.featureLevel", at: ctx.now(), level });
      o.onRaised?.(level);
    } catch (err) {
      o.onError(err);
    } finally {
      busy = false;
    }
  }, o.intervalMs ?? 200);
  return () => clearInterval(timer);
}
