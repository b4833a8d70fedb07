/**
 * Health checks a worker runs against a task: an HTTP GET, a TCP connect, or a command executed
 * inside the container. A task is `unhealthy` after `retries` consecutive failures once its start
 * period is over; failures during the start period do not count. An unhealthy task is stopped and
 * reported failed, so the service's restart policy replaces it (as in Docker Swarm).
 */
import { z } from "zod";
import { durationMs, HOUR_MS } from "./common.ts";

/** The kinds of health check. */
export const HealthCheckTypeSchema = z.enum(["http", "tcp", "exec"]);
/** The kinds of health check. */
export type HealthCheckType = z.infer<typeof HealthCheckTypeSchema>;

const PortSchema = z.number().int().min(1).max(65535);

/** An HTTP GET probe; healthy when the status code is within [statusMin, statusMax]. */
export const HttpCheckSchema = z.strictObject({
  /** Request path, starting with `/`. */
  path: z.string().max(2048).regex(/^\/[\x21-\x7e]*$/, "must start with '/' and contain no spaces")
    .default("/"),
  /** Container port to probe. */
  port: PortSchema,
  /** Lowest status code counted as healthy. */
  statusMin: z.number().int().min(100).max(599).default(200),
  /** Highest status code counted as healthy. */
  statusMax: z.number().int().min(100).max(599).default(399),
});
/** An HTTP probe. */
export type HttpCheck = z.infer<typeof HttpCheckSchema>;

/** A TCP connect probe. */
export const TcpCheckSchema = z.strictObject({
  /** Container port to connect to. */
  port: PortSchema,
});
/** A TCP probe. */
export type TcpCheck = z.infer<typeof TcpCheckSchema>;

/** A command run inside the container; healthy on exit code 0. */
export const ExecCheckSchema = z.strictObject({
  /** argv of the command, e.g. `["wget", "-q", "-O-", "http://127.0.0.1/"]`. */
  command: z.array(z.string().min(1).max(4096)).min(1, "must have at least one element").max(64),
});
/** An exec probe. */
export type ExecCheck = z.infer<typeof ExecCheckSchema>;

/** A health check: exactly the sub-object matching `type` is present. */
export const HealthCheckSchema = z
  .object({
    /** Which probe runs. */
    type: HealthCheckTypeSchema,
    /** HTTP probe settings, present iff `type` is `http`. */
    http: HttpCheckSchema.optional(),
    /** TCP probe settings, present iff `type` is `tcp`. */
    tcp: TcpCheckSchema.optional(),
    /** Exec probe settings, present iff `type` is `exec`. */
    exec: ExecCheckSchema.optional(),
    /** Time between probes. */
    intervalMs: durationMs(HOUR_MS).min(100, "must be at least 100 ms").default(30_000),
    /** Time one probe may take before it counts as failed. */
    timeoutMs: durationMs(HOUR_MS).min(10, "must be at least 10 ms").default(5_000),
    /** Consecutive failures before the task is unhealthy. */
    retries: z.number().int().min(1).max(100).default(3),
    /** Grace period after start during which failures do not count. */
    startPeriodMs: durationMs(HOUR_MS).default(0),
  })
  .superRefine((hc, ctx) => {
    for (const kind of HealthCheckTypeSchema.options) {
      const present = hc[kind] !== undefined;
      if (kind === hc.type && !present) {
        ctx.addIssue({ code: "custom", path: [kind], message: `is required when type is ${kind}` });
      } else if (kind !== hc.type && present) {
        ctx.addIssue({
          code: "custom",
          path: [kind],
          message: `must be absent when type is ${hc.type}`,
        });
      }
    }
    if (hc.http && hc.http.statusMin > hc.http.statusMax) {
      ctx.addIssue({
        code: "custom",
        path: ["http", "statusMin"],
        message: `must not exceed statusMax (${hc.http.statusMax})`,
      });
    }
  });
/** A health check. */
export type HealthCheck = z.infer<typeof HealthCheckSchema>;
