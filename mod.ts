/**
 * Warren: a container orchestrator for edge and small clusters.
 *
 * This module exports the public surface for programs that embed Warren's types.
 * @module
 */
export * from "./proto/errors.ts";
export { VERSION } from "./proto/version.ts";
