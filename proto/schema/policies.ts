/**
 * How tasks restart and how a service rolls out changes: restart policy, update and rollback
 * configuration (Swarm's semantics and defaults) and the deployment strategy.
 */
import { z } from "zod";
import { DAY_MS, durationMs, HOUR_MS } from "./common.ts";

/** When a task that exited is replaced. */
export const RestartConditionSchema = z.enum(["none", "on-failure", "any"]);
/** When a task that exited is replaced. */
export type RestartCondition = z.infer<typeof RestartConditionSchema>;

/** Restart policy (Swarm defaults: condition any, 5 s delay, unlimited attempts). */
export const RestartPolicySchema = z.strictObject({
  /** `none`: never; `on-failure`: non-zero exit; `any`: whenever the task stops. */
  condition: RestartConditionSchema.default("any"),
  /** Wait between a task stopping and its replacement starting. */
  delayMs: durationMs(HOUR_MS).default(5_000),
  /** Most restarts within `windowMs` (0 = unlimited). */
  maxAttempts: z.number().int().min(0).max(1_000_000).default(0),
  /** Window over which attempts are counted (0 = the whole life of the slot). */
  windowMs: durationMs(DAY_MS).default(0),
});
/** Restart policy. */
export type RestartPolicy = z.infer<typeof RestartPolicySchema>;

/** What to do when an updated task fails. */
export const FailureActionSchema = z.enum(["pause", "continue", "rollback"]);
/** What to do when an updated task fails. */
export type FailureAction = z.infer<typeof FailureActionSchema>;

/** Whether the old task stops before or after its replacement starts. */
export const UpdateOrderSchema = z.enum(["stop-first", "start-first"]);
/** Update order. */
export type UpdateOrder = z.infer<typeof UpdateOrderSchema>;

/** Rolling update settings (Swarm defaults: 1 at a time, pause on failure, 5 s monitor). */
export const UpdateConfigSchema = z.strictObject({
  /** Tasks updated at once (0 = all at once). */
  parallelism: z.number().int().min(0).max(10_000).default(1),
  /** Wait between batches. */
  delayMs: durationMs(DAY_MS).default(0),
  /** Reaction to a failed task during the update. */
  failureAction: FailureActionSchema.default("pause"),
  /** How long an updated task is watched for failure. */
  monitorMs: durationMs(HOUR_MS).default(5_000),
  /** Fraction of tasks that may fail before `failureAction` applies (0..1). */
  maxFailureRatio: z.number().min(0).max(1).default(0),
  /** Stop the old task first or start the new one first. */
  order: UpdateOrderSchema.default("stop-first"),
});
/** Rolling update settings. */
export type UpdateConfig = z.infer<typeof UpdateConfigSchema>;

/** Rollback settings: as update settings, but a rollback cannot itself roll back. */
export const RollbackConfigSchema = UpdateConfigSchema.superRefine((c, ctx) => {
  if (c.failureAction === "rollback") {
    ctx.addIssue({
      code: "custom",
      path: ["failureAction"],
      message: "must be pause or continue: a rollback cannot roll back",
    });
  }
});
/** Rollback settings. */
export type RollbackConfig = z.infer<typeof RollbackConfigSchema>;

/** How a new spec replaces the old one. */
export const DeploymentStrategySchema = z.enum(["rolling", "blue-green", "canary"]);
/** Deployment strategy. */
export type DeploymentStrategy = z.infer<typeof DeploymentStrategySchema>;

/** One canary step: route `weightPercent` of traffic to the new version, then wait `pauseMs`. */
export const CanaryStepSchema = z.strictObject({
  /** Share of traffic (and of replicas) on the new version, 1..99. */
  weightPercent: z.number().int().min(1).max(99),
  /** Observation time before the next step; failures during it trigger the failure action. */
  pauseMs: durationMs(DAY_MS).default(30_000),
});
/** One canary step. */
export type CanaryStep = z.infer<typeof CanaryStepSchema>;

/** Canary settings: strictly increasing weights; full promotion follows the last step. */
export const CanaryConfigSchema = z.strictObject({
  /** The steps, 1..10 of them, weights strictly increasing. */
  steps: z.array(CanaryStepSchema).min(1).max(10),
}).superRefine((c, ctx) => {
  c.steps.forEach((step, i) => {
    if (i > 0 && step.weightPercent <= c.steps[i - 1]!.weightPercent) {
      ctx.addIssue({
        code: "custom",
        path: ["steps", i, "weightPercent"],
        message: `must be greater than the previous step's ${c.steps[i - 1]!.weightPercent}`,
      });
    }
  });
});
/** Canary settings. */
export type CanaryConfig = z.infer<typeof CanaryConfigSchema>;

/** Blue-green settings: the new set starts beside the old; traffic switches at once. */
export const BlueGreenConfigSchema = z.strictObject({
  /** Switch automatically once all new tasks are healthy (else wait for an explicit promote). */
  autoPromote: z.boolean().default(true),
  /** Keep the old set this long after the switch, for a fast switch back. */
  keepPreviousMs: durationMs(DAY_MS).default(60_000),
});
/** Blue-green settings. */
export type BlueGreenConfig = z.infer<typeof BlueGreenConfigSchema>;

/** Deployment settings; `canary` is required for the canary strategy. */
export const DeploymentSchema = z.strictObject({
  /** Rolling (per updateConfig), blue-green or canary. */
  strategy: DeploymentStrategySchema.default("rolling"),
  /** Canary steps, required iff strategy is canary. */
  canary: CanaryConfigSchema.optional(),
  /** Blue-green settings, only with strategy blue-green (defaults apply when absent). */
  blueGreen: BlueGreenConfigSchema.optional(),
}).superRefine((d, ctx) => {
  if (d.strategy === "canary" && d.canary === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["canary"],
      message: "is required when strategy is canary",
    });
  }
  if (d.strategy !== "canary" && d.canary !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["canary"],
      message: `must be absent when strategy is ${d.strategy}`,
    });
  }
  if (d.strategy !== "blue-green" && d.blueGreen !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["blueGreen"],
      message: `must be absent when strategy is ${d.strategy}`,
    });
  }
});
/** Deployment settings. */
export type Deployment = z.infer<typeof DeploymentSchema>;
