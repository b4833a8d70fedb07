/**
 * Replicated commands: an append-only tagged union (after Nomad's message types). Never rename
 * or renumber a kind, never change what an existing kind means: old logs must replay forever.
 * Add a kind instead. The proposer fills in IDs and timestamps, so applying is deterministic.
 * A new kind, or a new field that changes how a command applies, raises the binary's feature
 * level and is not proposed before the cluster's level reaches it (fsm_feature_level.ts).
 * @module
 */
import { z } from "zod";
import {
  ClusterCidrsSchema,
  EncryptedDataSchema,
  FeatureLevelSchema,
  IdSchema,
  LabelsSchema,
  NodeSchema,
  NodeStatusSchema,
  NodeUpdateSchema,
  RequestIdSchema,
  ServiceSchema,
  ServiceSpecSchema,
  StoredSecretSchema,
  TaskSchema,
  TaskStateSchema,
  TaskStatusSchema,
  TimestampMsSchema,
  UpdateStatusSchema,
  VolumeSchema,
} from "../../proto/schema/mod.ts";

const at = TimestampMsSchema;
/**
 * The client's request ID of the write that proposed the command (absent in entries from before
 * it, and in commands no client request made): the FSM answers a repeat of an ID it remembers
 * with the first outcome instead of applying it again (fsm_requests.ts).
 */
const requestId = RequestIdSchema.optional();
/** A request fingerprint: 128 bits of SHA-256, base64url without padding. */
export const RequestFingerprintSchema = z.string().regex(/^[A-Za-z0-9_-]{22}$/);

/**
 * The digest of the client's request that `requestId` came with (manager/api/
 * request_fingerprint.ts), from feature level 3 (fsm_feature_level.ts): a repeat
 * of the ID with another fingerprint is another request reusing it, refused instead of answered
 * with the first one's outcome. Absent in entries from before it: a repeat answers as before.
 */
const requestFingerprint = RequestFingerprintSchema.optional();

/** The fields every command starts with, after its kind. */
const meta = { at, requestId, requestFingerprint };

/** A join token as stored: only its hash. */
export const StoredTokenSchema = z.object({
  role: z.enum(["manager", "worker"]),
  /** Hex SHA-256 of the token's secret part. */
  secretHash: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: TimestampMsSchema,
  expiresAt: TimestampMsSchema.optional(),
  /** The whole token encrypted under the data key, so admins can read it again. */
  encrypted: EncryptedDataSchema.optional(),
});
/** A stored join token. */
export type StoredToken = z.infer<typeof StoredTokenSchema>;

/** A data key wrapped by the cluster key-encryption key. */
export const WrappedKeySchema = z.object({
  keyId: z.string().min(1).max(128),
  kekId: z.string().min(1).max(128),
  wrapped: z.string().min(1).max(1024),
});

/** The cluster's CA and keys, as replicated: nothing here is usable without the KEK. */
export const ClusterSecuritySchema = z.object({
  caCertPem: z.string().min(1).max(64 * 1024),
  /** The CA private key, encrypted under the current data key. */
  caKey: EncryptedDataSchema,
  /** Data keys (newest last), each wrapped by the KEK. */
  dataKeys: z.array(WrappedKeySchema).min(1).max(64),
  /**
   * Autolock: the unlock key, sealed under the data key (every manager needs it to lock its own
   * copy of the KEK on disk). Absent: autolock is off.
   */
  unlockKey: EncryptedDataSchema.optional(),
});
/** The replicated CA and keys. */
export type ClusterSecurity = z.infer<typeof ClusterSecuritySchema>;

/** Cluster-wide settings fixed at init. */
export const ClusterRecordSchema = z.object({
  id: IdSchema,
  name: z.string().min(1).max(63),
  createdAt: TimestampMsSchema,
  cidrs: ClusterCidrsSchema.prefault({}),
  security: ClusterSecuritySchema.optional(),
  /**
   * The cluster's active feature level (fsm_feature_level.ts): set at init to the level of the
   * binary that created the cluster, raised by `cluster.featureLevel`. Absent (records from
   * before it): 1.
   */
  featureLevel: FeatureLevelSchema.optional(),
});
/** Cluster-wide settings. */
export type ClusterRecord = z.infer<typeof ClusterRecordSchema>;

/** One task field change; absent fields stay as they are. */
export const TaskChangeSchema = z.object({
  id: IdSchema,
  status: TaskStatusSchema.optional(),
  desiredState: TaskStateSchema.optional(),
  nodeId: IdSchema.optional(),
});
/** A task change. */
export type TaskChange = z.infer<typeof TaskChangeSchema>;

/** Every replicated command. */
export const CommandSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("cluster.init"),
    ...meta,
    cluster: ClusterRecordSchema,
  }),
  z.object({
    kind: z.literal("token.set"),
    ...meta,
    token: StoredTokenSchema,
  }),
  /**
   * Autolock on (with the sealed unlock key) or off (without). `replaces`: the sealed key the
   * writer saw (null: none); refused when another change came first, so two admins turning it on
   * at once cannot each walk away with a key (entries from before this field apply as they are).
   */
  z.object({
    kind: z.literal("cluster.autolock"),
    ...meta,
    unlockKey: EncryptedDataSchema.optional(),
    replaces: EncryptedDataSchema.nullable().optional(),
  }),
  z.object({
    kind: z.literal("node.register"),
    ...meta,
    node: NodeSchema,
  }),
  z.object({
    kind: z.literal("node.update"),
    ...meta,
    id: IdSchema,
    update: NodeUpdateSchema,
  }),
  z.object({
    kind: z.literal("node.status"),
    ...meta,
    id: IdSchema,
    status: NodeStatusSchema,
  }),
  z.object({
    kind: z.literal("node.remove"),
    ...meta,
    id: IdSchema,
    force: z.boolean(),
  }),
  /**
   * Service writes. `exclusivePorts`: refused when another service holds one of the published
   * ports the spec claims (proto/service_rules.ts); checked here, at apply time, so two creates
   * through different managers cannot both take a port. Entries from before this field apply
   * as they are (they were accepted with shared ports). `keepsUnchangedTasks`: a new spec that
   * changes no task's definition (proto/schema/service.ts `sameTaskDefinition`: replicas,
   * update settings, ...) keeps the spec version, so no task is replaced, and a new spec equal to
   * the previous one (updating back, rolling back) lets the tasks still on it stay. Entries
   * from before this field make every write of the spec a new version, as they did.
   */
  z.object({
    kind: z.literal("service.create"),
    ...meta,
    service: ServiceSchema,
    exclusivePorts: z.literal(true).optional(),
  }),
  z.object({
    kind: z.literal("service.update"),
    ...meta,
    id: IdSchema,
    spec: ServiceSpecSchema,
    expectedSpecVersion: z.number().int().min(0).optional(),
    expectedRevision: z.number().int().min(0).optional(),
    exclusivePorts: z.literal(true).optional(),
    keepsUnchangedTasks: z.literal(true).optional(),
  }),
  /**
   * `keepsPreviousSpec`: the spec scaled becomes `previousSpec`, what a rollback restores (as
   * Swarm's scale is an update), unless a rollout is under way, whose rollback target stays.
   * Entries from before this field keep the rollback target as they did.
   */
  z.object({
    kind: z.literal("service.scale"),
    ...meta,
    id: IdSchema,
    replicas: z.number().int(),
    keepsPreviousSpec: z.literal(true).optional(),
  }),
  z.object({
    kind: z.literal("service.rollback"),
    ...meta,
    id: IdSchema,
    exclusivePorts: z.literal(true).optional(),
    keepsUnchangedTasks: z.literal(true).optional(),
  }),
  z.object({ kind: z.literal("service.delete"), ...meta, id: IdSchema }),
  z.object({
    kind: z.literal("service.updateStatus"),
    ...meta,
    id: IdSchema,
    updateStatus: UpdateStatusSchema,
  }),
  z.object({
    kind: z.literal("task.create"),
    ...meta,
    tasks: z.array(TaskSchema).max(100_000),
  }),
  z.object({
    kind: z.literal("task.update"),
    ...meta,
    changes: z.array(TaskChangeSchema).max(100_000),
  }),
  z.object({
    kind: z.literal("task.delete"),
    ...meta,
    ids: z.array(IdSchema).max(100_000),
  }),
  z.object({
    kind: z.literal("secret.create"),
    ...meta,
    secret: StoredSecretSchema,
  }),
  z.object({ kind: z.literal("secret.delete"), ...meta, id: IdSchema }),
  z.object({
    kind: z.literal("secret.update"),
    ...meta,
    id: IdSchema,
    encrypted: EncryptedDataSchema,
    labels: LabelsSchema,
  }),
  z.object({
    kind: z.literal("volume.create"),
    ...meta,
    volume: VolumeSchema,
  }),
  z.object({ kind: z.literal("volume.delete"), ...meta, id: IdSchema }),
  /** Binds a volume without a node to the node its first task was placed on (plan applier). */
  z.object({
    kind: z.literal("volume.bind"),
    ...meta,
    id: IdSchema,
    nodeId: IdSchema,
  }),
  /**
   * Raises the cluster's active feature level to `level` (fsm_feature_level.ts). Only the leader
   * proposes it, once every manager reported a binary of that level; refused when a manager's
   * node record says otherwise by the time it applies, and a no-op when the level is there
   * already (levels never go down). A manager whose binary is below `level` halts on it.
   */
  z.object({
    kind: z.literal("cluster.featureLevel"),
    ...meta,
    level: FeatureLevelSchema,
  }),
]);
/** A replicated command. */
export type Command = z.infer<typeof CommandSchema>;
/** A command kind. */
export type CommandKind = Command["kind"];

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Validates and encodes a command for the Raft log. */
export function encodeCommand(cmd: Command): Uint8Array {
  return enc.encode(JSON.stringify(CommandSchema.parse(cmd)));
}

/**
 * Encodes a command every part of which was parsed by its zod schema already (e.g. a service
 * built from the spec the API just validated, plus an ID and timestamps): the same bytes as
 * {@link encodeCommand} without parsing the same data a second time on the write path.
 */
export function encodeValidatedCommand(cmd: Command): Uint8Array {
  return enc.encode(JSON.stringify(cmd));
}

/**
 * Decodes a command from the log. Not re-validated: only {@link encodeCommand} writes the log,
 * and validating every entry again on each replay would cost start-up time.
 */
export function decodeCommand(data: Uint8Array): Command {
  return JSON.parse(dec.decode(data)) as Command;
}
