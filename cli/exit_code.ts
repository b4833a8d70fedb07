/**
 * Lets a command choose the process exit code without printing an error, e.g. `apply --plan`
 * (0 no change, 2 changes) or `rm a b` after reporting which removals failed.
 * @module
 */

/** Thrown by a command to end with `code`; `main` prints `message` (if any) to stderr. */
export class ExitCode extends Error {
  /** The exit code. */
  readonly code: number;
  constructor(code: number, message = "") {
    super(message);
    this.name = "ExitCode";
    this.code = code;
  }
}
