/**
 * Where the user ran `deno task warren ...` from. `deno task` runs the CLI in the project's
 * directory (where deno.json is), so a relative path on the command line (`apply -f
 * ./stack.yaml`, `secret create x ./pass.txt`, `--data-dir d`) would be read from the checkout
 * instead of the user's directory. deno task says where it was run from in `INIT_CWD` and marks
 * itself in `npm_config_user_agent`; npm sets INIT_CWD too, but its scripts may `cd` on purpose,
 * so only deno task's is followed. A compiled binary or `deno run` is left where it is.
 * @module
 */

/** The directory to work in instead of the current one, or undefined to stay. */
export function invocationDir(
  env: (name: string) => string | undefined,
  cwd: string,
): string | undefined {
  const initCwd = env("INIT_CWD");
  if (!initCwd || initCwd === cwd) return undefined;
  if (!env("npm_config_user_agent")?.startsWith("deno/")) return undefined;
  return initCwd;
}
