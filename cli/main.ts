/**
 * The `warren` command: parses arguments and dispatches to one command group per file in
 * cli/commands/. Exit codes: 0 success, 1 error, 2 usage error (and `apply --plan` with changes).
 * @module
 */
import { CommanderError } from "commander";
import { startsDaemon } from "./daemon/program.ts";
import { toWarrenError } from "../proto/errors.ts";
import { ExitCode } from "./exit_code.ts";
import { invocationDir } from "./invocation_dir.ts";

/** Runs the CLI with `args` (without the program name) and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  // A daemon loads only the daemon commands (see daemon/program.ts); everything else the lot.
  const program = startsDaemon(args)
    ? (await import("./daemon/program.ts")).buildDaemonProgram()
    : (await import("./program.ts")).buildProgram();
  try {
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof ExitCode) {
      if (err.message) console.error(err.message);
      return err.code;
    }
    if (err instanceof CommanderError) {
      // Commander has printed the message or help already; help and --version exit 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    // The reader of our output went away (`warren service logs ... | head`): nothing to say to
    // it, and not a failure of the command, as for other Unix tools that get EPIPE.
    if (err instanceof Deno.errors.BrokenPipe) return 0;
    const e = toWarrenError(err);
    console.error(`error: ${e.message}`);
    return 1;
  }
}

if (import.meta.main) {
  const dir = invocationDir((name) => Deno.env.get(name), Deno.cwd());
  if (dir) Deno.chdir(dir);
  Deno.exit(await main(Deno.args));
}
