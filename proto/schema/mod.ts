/**
 * Warren's domain model: zod schemas (the single source of truth for specs, stored objects and
 * API bodies) and the types inferred from them.
 */
export * from "./base64.ts";
export * from "./cluster.ts";
export * from "./common.ts";
export * from "./constraint.ts";
export * from "./dispatch.ts";
export * from "./env.ts";
export * from "./event.ts";
export * from "./health_check.ts";
export * from "./image_ref.ts";
export * from "./mounts.ts";
export * from "./node.ts";
export * from "./parse.ts";
export * from "./policies.ts";
export * from "./ports.ts";
export * from "./requests.ts";
export * from "./secret.ts";
export * from "./service.ts";
export * from "./service_spec.ts";
export * from "./signal.ts";
export * from "./streams.ts";
export * from "./task.ts";
export * from "./task_reserves.ts";
export * from "./task_state.ts";
export * from "./volume.ts";
