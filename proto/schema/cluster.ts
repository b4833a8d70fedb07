/** ClusterInfo: identity, Raft position and address plan of the cluster. */
import { z } from "zod";
import {
  CidrSchema,
  FeatureLevelSchema,
  HostnameSchema,
  IdSchema,
  parseCidr,
  TimestampMsSchema,
} from "./common.ts";

/** Address plan: the overlay range (split into per-node subnets) and the service VIP range. */
export const ClusterCidrsSchema = z.object({
  /** Overlay range tasks get addresses from. */
  clusterCidr: CidrSchema.default("10.240.0.0/16"),
  /** Range service VIPs come from; must not overlap clusterCidr. */
  serviceCidr: CidrSchema.default("10.96.0.0/16"),
  /** Prefix length of each node's task subnet (24 → a /24 per node). */
  nodeSubnetBits: z.number().int().min(8).max(30).default(24),
}).superRefine((c, ctx) => {
  const cluster = parseCidr(c.clusterCidr);
  const service = parseCidr(c.serviceCidr);
  if (!cluster || !service) return;
  if (c.nodeSubnetBits <= cluster.prefixBits) {
    ctx.addIssue({
      code: "custom",
      path: ["nodeSubnetBits"],
      message: `must be longer than the clusterCidr prefix /${cluster.prefixBits}`,
    });
  }
  const end = (n: { address: number; prefixBits: number }) => n.address + 2 ** (32 - n.prefixBits);
  if (cluster.address < end(service) && service.address < end(cluster)) {
    ctx.addIssue({
      code: "custom",
      path: ["serviceCidr"],
      message: `must not overlap clusterCidr ${c.clusterCidr}`,
    });
  }
});
/** Address plan. */
export type ClusterCidrs = z.infer<typeof ClusterCidrsSchema>;

/** Where the Raft log stands, as seen by the answering manager. */
export const RaftStatusSchema = z.object({
  /** Current term. */
  term: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** Leader's node ID; absent when no leader is known. */
  leaderId: IdSchema.optional(),
  /** Last applied index. */
  index: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
/** Raft status. */
export type RaftStatus = z.infer<typeof RaftStatusSchema>;

/** A manager of the Raft configuration and the feature level of the binary it runs. */
export const ManagerFeatureLevelSchema = z.object({
  /** Node ID of the manager. */
  nodeId: IdSchema,
  /** Its host name; absent when no node record of it is known yet. */
  hostname: HostnameSchema.optional(),
  /** The feature level its binary reported; absent when it reported none yet. */
  featureLevel: FeatureLevelSchema.optional(),
});
/** A manager's binary feature level. */
export type ManagerFeatureLevel = z.infer<typeof ManagerFeatureLevelSchema>;

/** Cluster information. */
export const ClusterInfoSchema = z.object({
  /** Cluster ID. */
  id: IdSchema,
  /** Cluster name. */
  name: z.string().min(1).max(63),
  /** When the cluster was initialized (ms). */
  createdAt: TimestampMsSchema,
  /** Raft position. */
  raft: RaftStatusSchema,
  /** Number of manager nodes. */
  managers: z.number().int().min(0).max(1_000_000),
  /** Number of worker nodes. */
  workers: z.number().int().min(0).max(1_000_000),
  /** Version of the answering manager. */
  version: z.string().min(1).max(64),
  /** Address plan. */
  cidrs: ClusterCidrsSchema.prefault({}),
  /** Autolock is on: managers keep the cluster key on disk only under the unlock key. */
  autolock: z.boolean().default(false),
  /** The answering manager is locked (restarted with autolock on, not unlocked yet). */
  locked: z.boolean().default(false),
  /**
   * The cluster's active feature level: the replicated commands and semantics managers may use
   * (manager/state/fsm_feature_level.ts). It rises once every manager runs a binary of that level.
   */
  featureLevel: FeatureLevelSchema.default(1),
  /** Each Raft member and the feature level of its binary: an upgrade's progress. */
  managerFeatureLevels: z.array(ManagerFeatureLevelSchema).max(1_000).default([]),
});
/** Cluster information. */
export type ClusterInfo = z.infer<typeof ClusterInfoSchema>;
