/**
 * Service: a spec plus what the cluster knows about rolling it out. Every spec change bumps
 * `specVersion` and keeps the previous spec for rollback.
 */
import { z } from "zod";
import { IdSchema, isIpv4, TimestampMsSchema } from "./common.ts";
import { type ServiceSpec, ServiceSpecSchema } from "./service_spec.ts";

/** State of the latest update or rollback. */
export const UpdateStateSchema = z.enum([
  "updating",
  "paused",
  "completed",
  "rollback_started",
  "rolled_back",
]);
/** Update state. */
export type UpdateState = z.infer<typeof UpdateStateSchema>;

/** Progress of the latest update or rollback. */
export const UpdateStatusSchema = z.object({
  /** Where the rollout stands. */
  state: UpdateStateSchema,
  /** Explanation, e.g. `update paused: task web.2 failed health check`. */
  message: z.string().max(1024).default(""),
  /** When the rollout started (ms). */
  startedAt: TimestampMsSchema,
  /** When it completed or was rolled back (ms); absent while in progress. */
  completedAt: TimestampMsSchema.optional(),
});
/** Update status. */
export type UpdateStatus = z.infer<typeof UpdateStatusSchema>;

/**
 * Most older versions a service counts as running its current spec (besides `sameSpecVersion`):
 * each failed update rolled back adds one; past this many the oldest one's tasks are replaced.
 */
export const MAX_SAME_SPEC_VERSIONS = 16;

/** A service. */
export const ServiceSchema = z.object({
  /** Service ID. */
  id: IdSchema,
  /** Current spec. */
  spec: ServiceSpecSchema,
  /** Spec before the latest update; what a rollback restores. */
  previousSpec: ServiceSpecSchema.optional(),
  /** Incremented on every spec change; tasks record the version they run. */
  specVersion: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /**
   * Set by a rollback (cleared by the next update): the older version whose spec the rollback
   * restored. Its tasks run the current spec already and are not replaced.
   */
  sameSpecVersion: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /**
   * Versions older than `sameSpecVersion` whose tasks run the current spec too: a rollback to a
   * spec that an earlier rollback had restored keeps the tasks of both versions.
   */
  olderSameSpecVersions: z.array(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)).max(
    MAX_SAME_SPEC_VERSIONS,
  ).optional(),
  /**
   * The versions whose tasks run `previousSpec` (when its task definition differs from the
   * current one): what a rollback, or an update back to that spec, keeps. Absent on services
   * written before it existed: the version before this one is assumed.
   */
  previousSpecVersions: z.array(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)).max(
    MAX_SAME_SPEC_VERSIONS + 1,
  ).optional(),
  /**
   * Counts every write of the spec: updates and rollbacks (with the spec version) and scaling,
   * which changes `replicas` but keeps the spec version (no task runs a different definition).
   * What a read-modify-write of the spec checks. Absent on services written before it existed:
   * read it with {@link serviceRevision}.
   */
  revision: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /** Virtual IP from the cluster's serviceCidr (endpointMode vip); absent until allocated. */
  vip: z.string().refine(isIpv4, { message: "must be an IPv4 address" }).optional(),
  /** Latest rollout; absent before the first update. */
  updateStatus: UpdateStatusSchema.optional(),
  /** Creation time (ms). */
  createdAt: TimestampMsSchema,
  /** Last change (ms). */
  updatedAt: TimestampMsSchema,
});
/** A service. */
export type Service = z.infer<typeof ServiceSchema>;

/** A service's revision; a service written before revisions existed is at its spec version. */
export function serviceRevision(service: Pick<Service, "specVersion" | "revision">): number {
  return service.revision ?? service.specVersion;
}

/**
 * Fields of a service spec that say how the service is run, not what its tasks run: changing
 * only these leaves every task as it is (as Swarm keeps tasks whose TaskSpec is unchanged).
 */
const SERVICE_LEVEL_FIELDS = [
  "replicas",
  "updateConfig",
  "rollbackConfig",
  "deployment",
  "disconnectGraceMs",
  "labels",
] as const satisfies readonly (keyof ServiceSpec)[];

/** `spec` without its {@link SERVICE_LEVEL_FIELDS}: what a task is made from. */
function taskDefinition(spec: ServiceSpec): Partial<ServiceSpec> {
  const def: Partial<ServiceSpec> = { ...spec };
  for (const f of SERVICE_LEVEL_FIELDS) delete def[f];
  return def;
}

/**
 * Whether tasks made from spec `a` and from spec `b` are the same: the specs differ at most in
 * the replica count, the update and rollback settings, the deployment strategy, the
 * disconnect grace and the service's labels (containers carry `containerLabels`). Specs are compared as their JSON (both parsed by the same schema).
 */
export function sameTaskDefinition(a: ServiceSpec, b: ServiceSpec): boolean {
  return a === b || JSON.stringify(taskDefinition(a)) === JSON.stringify(taskDefinition(b));
}

/**
 * Whether a task recorded at `specVersion` runs the service's current spec: the current version,
 * or the version a rollback returned to.
 */
export function runsCurrentSpec(
  service: Pick<Service, "specVersion" | "sameSpecVersion" | "olderSameSpecVersions">,
  specVersion: number,
): boolean {
  return specVersion === service.specVersion || specVersion === service.sameSpecVersion ||
    (service.olderSameSpecVersions?.includes(specVersion) ?? false);
}

/**
 * The spec a task of `specVersion` runs, as far as the service still knows it: the current spec
 * when the task runs it, else the previous one (the version a rolling update or rollback is
 * moving away from). A version older than both is no longer kept; it gets the current spec.
 */
export function specOfVersion(service: Service, specVersion: number): ServiceSpec {
  if (runsCurrentSpec(service, specVersion) || service.previousSpec === undefined) {
    return service.spec;
  }
  return service.previousSpec;
}
