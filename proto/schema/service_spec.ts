/**
 * ServiceSpec: what the user asks for. Defaults follow Docker Swarm; parsing fills them in, so a
 * parsed spec is complete and two specs compare equal exactly when they mean the same thing.
 */
import { z } from "zod";
import {
  AbsolutePathSchema,
  DAY_MS,
  DnsLabelSchema,
  durationMs,
  HostnameSchema,
  HOUR_MS,
  LabelsSchema,
  ResourceAmountsSchema,
} from "./common.ts";
import { ConstraintSchema, MAX_CONSTRAINTS, PlacementPreferenceSchema } from "./constraint.ts";
import { EnvSchema } from "./env.ts";
import { HealthCheckSchema } from "./health_check.ts";
import { ImageRefSchema } from "./image_ref.ts";
import { MountsSchema, SecretRefsSchema } from "./mounts.ts";
import {
  DeploymentSchema,
  RestartPolicySchema,
  RollbackConfigSchema,
  UpdateConfigSchema,
} from "./policies.ts";
import { EndpointModeSchema, PortsSchema } from "./ports.ts";
import { StopSignalSchema } from "./signal.ts";

/** Most replicas a replicated service may ask for. */
export const MAX_REPLICAS = 10_000;

/** Replicated (a fixed number of tasks) or global (one task per eligible node). */
export const ServiceModeSchema = z.enum(["replicated", "global"]);
/** Service mode. */
export type ServiceMode = z.infer<typeof ServiceModeSchema>;

/** Limits and reservations; a reservation never exceeds the matching limit. */
export const ServiceResourcesSchema = z.strictObject({
  /** Hard caps enforced by the runtime (cgroups). */
  limits: ResourceAmountsSchema.prefault({}),
  /** Amounts the scheduler sets aside on the chosen node. */
  reservations: ResourceAmountsSchema.prefault({}),
}).superRefine((r, ctx) => {
  for (const key of ["nanoCpus", "memoryBytes"] as const) {
    const limit = r.limits[key];
    const reservation = r.reservations[key];
    if (limit !== undefined && reservation !== undefined && reservation > limit) {
      ctx.addIssue({
        code: "custom",
        path: ["reservations", key],
        message: `must not exceed limits.${key} (${reservation} > ${limit})`,
      });
    }
  }
});
/** Limits and reservations. */
export type ServiceResources = z.infer<typeof ServiceResourcesSchema>;

const ArgvSchema = z.array(z.string().max(4096, "must be at most 4096 characters")).max(256)
  .default([]);

/** The object before defaults and the replicas rule are applied. */
const ServiceSpecObject = z.strictObject({
  /** Service name, a DNS label; also its DNS name inside the cluster. */
  name: DnsLabelSchema,
  /** Image reference, e.g. `registry.local:5000/web:1.2`. */
  image: ImageRefSchema,
  /** Replaces the image's entrypoint when non-empty. */
  command: ArgvSchema,
  /** Replaces the image's cmd when non-empty. */
  args: ArgvSchema,
  /** Environment, `KEY=VALUE` entries. */
  env: EnvSchema,
  /** Working directory; the image's when absent. */
  workdir: AbsolutePathSchema.optional(),
  /** `user` or `user:group` (names or numeric IDs); the image's when absent. */
  user: z.string().regex(
    /^[A-Za-z0-9_.-]{1,32}(:[A-Za-z0-9_.-]{1,32})?$/,
    "must be user or user:group (names or numeric IDs)",
  ).optional(),
  /** Container host name; the task name when absent. */
  hostname: HostnameSchema.optional(),
  /** replicated or global. */
  mode: ServiceModeSchema.default("replicated"),
  /** Number of tasks (replicated only; default 1). */
  replicas: z.number().int("must be an integer").min(0, "must be at least 0").max(
    MAX_REPLICAS,
    `must be at most ${MAX_REPLICAS}`,
  ).optional(),
  /** CPU/memory limits and reservations. */
  resources: ServiceResourcesSchema.prefault({}),
  /** Placement constraints, e.g. `node.labels.zone==edge`; all must hold. */
  constraints: z.array(ConstraintSchema).max(MAX_CONSTRAINTS).default([]),
  /** Spread preferences, applied in order. */
  preferences: z.array(PlacementPreferenceSchema).max(8).default([]),
  /** Most tasks of this service on one node (0 = unlimited). */
  maxReplicasPerNode: z.number().int().min(0).max(MAX_REPLICAS).default(0),
  /** Ports, optionally published. */
  ports: PortsSchema,
  /** vip or dnsrr. */
  endpointMode: EndpointModeSchema.default("vip"),
  /** Secret files under /run/secrets. */
  secrets: SecretRefsSchema,
  /**
   * Name of a secret holding the login for the image's registry: JSON
   * `{"username": "...", "password": "..."}` (what `warren login` + `--with-registry-auth` store)
   * or `username:password`. Sent only to nodes that run the service's tasks, like other secrets.
   */
  registryAuthSecret: DnsLabelSchema.optional(),
  /** Volumes, bind mounts and tmpfs. */
  mounts: MountsSchema,
  /** Health check; the image's HEALTHCHECK is not used. */
  healthCheck: HealthCheckSchema.optional(),
  /** When exited tasks are replaced. */
  restartPolicy: RestartPolicySchema.prefault({}),
  /** How updates roll out. */
  updateConfig: UpdateConfigSchema.prefault({}),
  /** How rollbacks roll out. */
  rollbackConfig: RollbackConfigSchema.prefault({}),
  /** Rolling, blue-green or canary. */
  deployment: DeploymentSchema.prefault({}),
  /** Signal sent to stop a task, e.g. SIGTERM or 15. */
  stopSignal: StopSignalSchema.default("SIGTERM"),
  /** Time between stopSignal and SIGKILL. */
  stopGracePeriodMs: durationMs(HOUR_MS).default(10_000),
  /** Mount the root file system read-only. */
  readOnlyRootfs: z.boolean().default(false),
  /** How long tasks on a disconnected node are kept before being replaced elsewhere. */
  disconnectGraceMs: durationMs(DAY_MS).default(0),
  /**
   * Labels of the service (for tools that read the cluster's API); not on its containers, so
   * changing them replaces no task (Swarm's `--label`).
   */
  labels: LabelsSchema,
  /** Labels on every container of the service (Swarm's `--container-label`). */
  containerLabels: LabelsSchema,
});

/**
 * A service spec. Parsing validates cross-field rules (replicas only with replicated mode,
 * ingress ports not with dnsrr) and sets `replicas` to 1 for replicated services that omit it.
 */
export const ServiceSpecSchema = ServiceSpecObject.superRefine((spec, ctx) => {
  if (spec.mode === "global" && spec.replicas !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["replicas"],
      message: "must be absent in global mode (one task runs on every eligible node)",
    });
  }
  if (spec.endpointMode === "dnsrr") {
    const i = spec.ports.findIndex((p) => p.published !== undefined && p.publishMode === "ingress");
    if (i >= 0) {
      ctx.addIssue({
        code: "custom",
        path: ["ports", i, "publishMode"],
        message: "ingress publishing needs endpointMode vip; use publishMode host with dnsrr",
      });
    }
  }
}).transform((spec) =>
  // Global specs keep replicas absent (the refinement above guarantees it).
  spec.mode === "replicated" ? { ...spec, replicas: spec.replicas ?? 1 } : spec
);

/** A complete (parsed, defaults filled) service spec. */
export type ServiceSpec = z.infer<typeof ServiceSpecSchema>;
/** A service spec as a client may write it (defaults optional). */
export type ServiceSpecInput = z.input<typeof ServiceSpecSchema>;
