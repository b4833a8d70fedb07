/**
 * Cluster information.
 * @module
 */
import type { ClusterInfo } from "../../proto/schema/mod.ts";
import { UnavailableError } from "../../proto/errors.ts";
import { type ApiContext, readBarrier } from "./context.ts";
import { activeFeatureLevel, BASE_FEATURE_LEVEL } from "../state/fsm_feature_level.ts";

/**
 * Cluster identity, Raft position as this manager sees it, node counts, and the feature levels:
 * the cluster's active one and each Raft member's binary (an upgrade's progress).
 */
export async function clusterInfo(ctx: ApiContext, stale: boolean): Promise<ClusterInfo> {
  const s = await readBarrier(ctx, stale);
  if (!s.cluster) throw new UnavailableError("the cluster is not initialized yet");
  let managers = 0;
  let workers = 0;
  for (const n of s.nodes.values()) n.role === "manager" ? managers++ : workers++;
  const lead = ctx.raft.leader;
  const { config } = ctx.raft.status();
  return {
    id: s.cluster.id,
    name: s.cluster.name,
    createdAt: s.cluster.createdAt,
    raft: {
      term: lead.term,
      ...(lead.leaderId ? { leaderId: lead.leaderId } : {}),
      index: ctx.raft.appliedIndex,
    },
    managers,
    workers,
    version: ctx.version,
    cidrs: s.cluster.cidrs,
    autolock: s.cluster.security?.unlockKey !== undefined,
    locked: (await ctx.localKek?.locked().catch(() => false)) ?? false,
    featureLevel: activeFeatureLevel(s),
    managerFeatureLevels: [...config.voters, ...config.learners].sort().map((id) => {
      const n = s.nodes.get(id);
      return {
        nodeId: id,
        ...(n ? { hostname: n.hostname, featureLevel: n.featureLevel ?? BASE_FEATURE_LEVEL } : {}),
      };
    }),
  };
}
