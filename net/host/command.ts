/**
 * Runs the host tools the data plane needs (`ip`, `iptables-restore`, `nft`, CNI plugins) and
 * turns a failure into a typed error that names the command and quotes its stderr.
 * @module
 */
import { WarrenError } from "../../proto/errors.ts";

/** What a finished command printed and how it exited. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** Written to the command's stdin, then closed. */
  stdin?: string;
  /** Extra environment variables (added to the inherited environment). */
  env?: Record<string, string>;
  /** Throw {@link HostCommandError} on a non-zero exit; default true. */
  check?: boolean;
}

/** A host tool exited non-zero. */
export class HostCommandError extends WarrenError {
  /** The command line that failed. */
  readonly argv: string[];
  /** Its exit code. */
  readonly exitCode: number;
  /** Its stderr (trimmed). */
  readonly stderr: string;
  constructor(argv: string[], result: CommandResult) {
    const err = result.stderr.trim() || result.stdout.trim();
    super("internal", `"${argv.join(" ")}" exited with ${result.code}: ${err.slice(0, 2000)}`);
    this.argv = argv;
    this.exitCode = result.code;
    this.stderr = result.stderr.trim();
  }
}

const decoder = new TextDecoder();

/** Runs `argv` to completion. @throws HostCommandError on a non-zero exit (unless `check: false`) */
export async function runCommand(
  argv: string[],
  opts: RunCommandOptions = {},
): Promise<CommandResult> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new TypeError("runCommand: empty argv");
  const child = new Deno.Command(cmd, {
    args,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(opts.env ? { env: opts.env } : {}),
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    try {
      await w.write(new TextEncoder().encode(opts.stdin));
    } catch (err) {
      // The program exited (or closed stdin) without reading it all, e.g. a CNI plugin asked
      // for VERSION: its exit status and output say what happened, not the pipe.
      if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
    } finally {
      await w.close().catch(() => {});
    }
  }
  const out = await child.output();
  const result = {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
  if (result.code !== 0 && opts.check !== false) throw new HostCommandError(argv, result);
  return result;
}

/** Whether an executable named `name` is on PATH (or is an absolute path that exists). */
export async function hasExecutable(name: string): Promise<boolean> {
  const dirs = name.includes("/") ? [""] : (Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin")
    .split(":").map((d) => `${d}/`);
  for (const d of dirs) {
    try {
      const st = await Deno.stat(`${d}${name}`);
      if (st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0) return true;
    } catch {
      // Not in this directory.
    }
  }
  return false;
}
