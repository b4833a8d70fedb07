/**
 * What a task's container sees besides its image: mounts (named volumes, bind mounts, tmpfs) and
 * secret files (under /run/secrets).
 */
import { z } from "zod";
import { AbsolutePathSchema, DnsLabelSchema } from "./common.ts";

/** The kinds of mount. */
export const MountTypeSchema = z.enum(["volume", "bind", "tmpfs"]);
/** The kinds of mount. */
export type MountType = z.infer<typeof MountTypeSchema>;

/** Most mounts, and most secrets, one service may declare. */
export const MAX_MOUNTS = 32;

/**
 * A mount. `source` is a volume name for `volume`, an absolute host path for `bind`, and absent
 * for `tmpfs`.
 */
export const MountSchema = z.strictObject({
  /** volume, bind or tmpfs. */
  type: MountTypeSchema,
  /** Volume name or host path; absent for tmpfs. */
  source: z.string().max(4096).optional(),
  /** Absolute path inside the container. */
  target: AbsolutePathSchema,
  /** Mount read-only. */
  readOnly: z.boolean().default(false),
}).superRefine((m, ctx) => {
  // As Docker refuses it: the container's root is its image, never a mount.
  if (/^\/+$/.test(m.target)) {
    ctx.addIssue({
      code: "custom",
      path: ["target"],
      message: "must not be / (a mount cannot replace the container's root file system)",
    });
  }
  const schema = m.type === "volume"
    ? DnsLabelSchema
    : m.type === "bind"
    ? AbsolutePathSchema
    : undefined;
  if (schema === undefined) {
    if (m.source !== undefined && m.source !== "") {
      ctx.addIssue({
        code: "custom",
        path: ["source"],
        message: "must be absent for tmpfs mounts",
      });
    }
    return;
  }
  if (m.source === undefined) {
    ctx.addIssue({ code: "custom", path: ["source"], message: `is required for ${m.type} mounts` });
    return;
  }
  const result = schema.safeParse(m.source);
  if (!result.success) {
    ctx.addIssue({
      code: "custom",
      path: ["source"],
      message: `${m.type === "volume" ? "volume name" : "host path"} ${
        result.error.issues[0]!.message
      }`,
    });
  }
});
/** A mount. */
export type Mount = z.infer<typeof MountSchema>;

/** Mounts of a service: no container path twice. */
export const MountsSchema = z.array(MountSchema).max(MAX_MOUNTS).superRefine((mounts, ctx) => {
  const seen = new Map<string, number>();
  mounts.forEach((m, i) => {
    const first = seen.get(m.target);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: [i, "target"],
        message: `mounts ${m.target} again (already mounted by mounts[${first}])`,
      });
    } else seen.set(m.target, i);
  });
}).default([]);

const FILE_NAME = /^[A-Za-z0-9_.-]{1,255}$/;

/** A secret exposed to the task as the file `/run/secrets/<target>`. */
export const SecretRefSchema = z.strictObject({
  /** Name of the secret. */
  secret: DnsLabelSchema,
  /** File name under /run/secrets; defaults to the secret name. */
  target: z.string().regex(FILE_NAME, "must be a file name of letters, digits, '.', '_' or '-'")
    .refine((t) => t !== "." && t !== "..", { message: "must not be '.' or '..'" })
    .optional(),
  /** File mode, e.g. 0o444. */
  mode: z.number().int().min(0).max(0o777).default(0o444),
}).transform((ref) => ({ ...ref, target: ref.target ?? ref.secret }));
/** A secret reference (target always filled in). */
export type SecretRef = z.infer<typeof SecretRefSchema>;

/** Secret references of a service: no target file twice. */
export const SecretRefsSchema = z.array(SecretRefSchema).max(MAX_MOUNTS).superRefine(
  (refs, ctx) => {
    const seen = new Map<string, number>();
    refs.forEach((ref, i) => {
      const first = seen.get(ref.target);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: [i, "target"],
          message: `writes /run/secrets/${ref.target} again (already written by secrets[${first}])`,
        });
      } else seen.set(ref.target, i);
    });
  },
).default([]);
