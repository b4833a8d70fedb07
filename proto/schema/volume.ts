/**
 * Volumes: named storage on a node (driver `local`, a directory under the worker's data dir).
 * A volume bound to `nodeId` pins the tasks that mount it to that node.
 */
import { z } from "zod";
import { DnsLabelSchema, IdSchema, LabelsSchema, TimestampMsSchema } from "./common.ts";

/** Volume drivers Warren supports. */
export const VolumeDriverSchema = z.enum(["local"]);
/** A volume driver. */
export type VolumeDriver = z.infer<typeof VolumeDriverSchema>;

/**
 * The options each driver implements. `local` is a plain directory on the node
 * (worker/volumes.ts) and reads none: an option such as `type=nfs` would be silently ignored,
 * so a create request with any option is refused.
 */
export const VOLUME_DRIVER_OPTIONS: Readonly<Record<VolumeDriver, readonly string[]>> = {
  local: [],
};

/** Driver options: at most 32 `key=value` pairs. */
export const VolumeOptionsSchema = z.record(
  z.string().regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    "option keys are 1-64 of letters, digits, '.', '_' or '-'",
  ),
  z.string().max(1024, "option values must be at most 1024 characters"),
).refine((o) => Object.keys(o).length <= 32, { message: "must have at most 32 entries" }).default(
  {},
);

const volumeFields = {
  /** Name, a DNS label. */
  name: DnsLabelSchema,
  /** Driver; only `local`. */
  driver: VolumeDriverSchema.default("local"),
  /** Node the volume lives on; absent means created on demand on any node that needs it. */
  nodeId: IdSchema.optional(),
  /** Driver options. */
  options: VolumeOptionsSchema,
  /** User labels. */
  labels: LabelsSchema,
};

/**
 * Request to create a volume. Strict: an unknown field (`drvier`) is an error naming it, and so
 * is an option its driver does not implement (`options.type`).
 */
export const VolumeCreateRequestSchema = z.strictObject(volumeFields).superRefine((v, ctx) => {
  const known = VOLUME_DRIVER_OPTIONS[v.driver];
  for (const key of Object.keys(v.options)) {
    if (known.includes(key)) continue;
    ctx.addIssue({
      code: "custom",
      path: ["options", key],
      message: `is not an option of the ${v.driver} volume driver (${
        known.length === 0 ? "it takes none" : `it takes ${known.join(", ")}`
      })`,
    });
  }
});
/** Request to create a volume. */
export type VolumeCreateRequest = z.infer<typeof VolumeCreateRequestSchema>;

/** A volume (a stored object, read as before: not strict). */
export const VolumeSchema = z.object({
  ...volumeFields,
  /** Volume ID. */
  id: IdSchema,
  /** Creation time (ms). */
  createdAt: TimestampMsSchema,
  /** Last change (ms). */
  updatedAt: TimestampMsSchema,
});
/** A volume. */
export type Volume = z.infer<typeof VolumeSchema>;
