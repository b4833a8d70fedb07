/**
 * Node: a machine in the cluster. Managers run Raft and the API; workers run tasks (managers may
 * too unless drained). `status` is what the managers observe; `availability` is what the operator
 * asks for.
 */
import { z } from "zod";
import {
  CidrSchema,
  FeatureLevelSchema,
  HostnameSchema,
  HostPortSchema,
  HostSchema,
  IdSchema,
  LabelsSchema,
  ResourcesSchema,
  TimestampMsSchema,
} from "./common.ts";

/** manager or worker. */
export const NodeRoleSchema = z.enum(["manager", "worker"]);
/** Node role. */
export type NodeRole = z.infer<typeof NodeRoleSchema>;

/** active (takes tasks), pause (keeps its tasks, takes no new ones), drain (tasks move away). */
export const NodeAvailabilitySchema = z.enum(["active", "pause", "drain"]);
/** Node availability. */
export type NodeAvailability = z.infer<typeof NodeAvailabilitySchema>;

/** Observed node state. */
export const NodeStateSchema = z.enum(["unknown", "ready", "down", "disconnected"]);
/** Observed node state. */
export type NodeState = z.infer<typeof NodeStateSchema>;

/** CPU architectures Warren runs on. */
export const ArchSchema = z.enum(["amd64", "arm64"]);
/** CPU architecture. */
export type Arch = z.infer<typeof ArchSchema>;

/** Operating system and CPU architecture. */
export const PlatformSchema = z.object({
  /** Operating system, e.g. `linux`. */
  os: z.string().regex(/^[a-z0-9]{1,32}$/, "must be 1-32 lowercase letters or digits").default(
    "linux",
  ),
  /** amd64 or arm64. */
  arch: ArchSchema,
});
/** Platform. */
export type Platform = z.infer<typeof PlatformSchema>;

/** Where a node can be reached. */
export const NodeAddressesSchema = z.object({
  /** Address other nodes and clients use for this node, an IP or host name. */
  advertise: HostSchema,
  /** gRPC API `host:port` (managers; workers may serve logs there). */
  api: HostPortSchema.optional(),
  /** Raft transport `host:port` (managers only). */
  raft: HostPortSchema.optional(),
});
/** Node addresses. */
export type NodeAddresses = z.infer<typeof NodeAddressesSchema>;

/** What the managers last observed about a node. */
export const NodeStatusSchema = z.object({
  /** unknown, ready, down or disconnected. */
  state: NodeStateSchema.default("unknown"),
  /** Explanation, e.g. `heartbeat missed for 15 s`. */
  message: z.string().max(1024).default(""),
  /** Time of the last heartbeat (ms since epoch; 0 = never). */
  lastHeartbeatAt: TimestampMsSchema.default(0),
});
/** Node status. */
export type NodeStatus = z.infer<typeof NodeStatusSchema>;

/** A WireGuard public key: 32 bytes, base64 (44 characters ending in `=`). */
export const WireGuardKeySchema = z.string().regex(
  /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$/,
  "must be a base64 WireGuard public key (44 characters)",
);

/** The node's overlay identity: its WireGuard key, endpoint and the task subnet it owns. */
export const NodeWireGuardSchema = z.object({
  /** WireGuard public key. */
  publicKey: WireGuardKeySchema,
  /** UDP endpoint peers send to, `host:port`. */
  endpoint: HostPortSchema,
  /** Task subnet assigned to this node, e.g. `10.240.3.0/24`. */
  subnet: CidrSchema,
});
/** WireGuard settings of a node. */
export type NodeWireGuard = z.infer<typeof NodeWireGuardSchema>;

/** A node. */
export const NodeSchema = z.object({
  /** Node ID. */
  id: IdSchema,
  /** Host name the node reported. */
  hostname: HostnameSchema,
  /** manager or worker. */
  role: NodeRoleSchema,
  /** Where it is reached. */
  addresses: NodeAddressesSchema,
  /** Operator labels (used by constraints). */
  labels: LabelsSchema,
  /** Total schedulable resources. */
  resources: ResourcesSchema.prefault({}),
  /** OS and architecture. */
  platform: PlatformSchema,
  /** Operator-set availability. */
  availability: NodeAvailabilitySchema.default("active"),
  /** Observed status. */
  status: NodeStatusSchema.prefault({}),
  /** Overlay settings; absent until the node has set up WireGuard. */
  wireguard: NodeWireGuardSchema.optional(),
  /** Warren version the node runs. */
  version: z.string().min(1).max(64),
  /**
   * Managers: the feature level of the Warren binary the manager runs, as it reported it when it
   * joined or last started (manager/state/fsm_feature_level.ts). The leader raises the cluster's
   * level only once every manager reports it. Absent: not reported (records from before it,
   * workers), which counts as level 1.
   */
  featureLevel: FeatureLevelSchema.optional(),
  /** When the node joined (ms). */
  createdAt: TimestampMsSchema,
  /** Last change (ms). */
  updatedAt: TimestampMsSchema,
});
/** A node. */
export type Node = z.infer<typeof NodeSchema>;

/**
 * What an operator may change on a node (`warren node update`). Strict: a misspelt field
 * (`availabilty`) is an error naming it, not an update that changes nothing.
 */
export const NodeUpdateSchema = z.strictObject({
  /** New availability. */
  availability: NodeAvailabilitySchema.optional(),
  /** New role (promote/demote). */
  role: NodeRoleSchema.optional(),
  /** Labels to set (replaces the value of each key given). */
  labelsAdd: LabelsSchema,
  /** Label keys to remove. */
  labelsRemove: z.array(z.string().max(128)).max(64).default([]),
});
/** A node update. */
export type NodeUpdate = z.infer<typeof NodeUpdateSchema>;
