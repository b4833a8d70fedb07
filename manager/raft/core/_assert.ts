/**
 * Invariant checks for the pure core. A broken invariant is a bug: it throws and the node crashes
 * rather than corrupting the replicated log.
 * @module
 */

/** Thrown when an internal invariant does not hold. Never caught by the core. */
export class RaftInvariantError extends Error {
  constructor(message: string) {
    super(`raft invariant violated: ${message}`);
    this.name = "RaftInvariantError";
  }
}

/** Throws {@link RaftInvariantError} with `message` when `cond` is false. */
export function invariant(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new RaftInvariantError(typeof message === "string" ? message : message());
}
