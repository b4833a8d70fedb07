/**
 * Private helper of net/wireguard: runs `ip`, `wg` and `wireguard-go`, optionally inside a network
 * namespace (`ip netns exec NS ...`), so one process can drive a node's overlay in a test host.
 * @module
 */
import { DeadlineExceededError, UnavailableError, WarrenError } from "../../proto/errors.ts";

/** What a finished command left behind. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

const decoder = new TextDecoder();
const DEFAULT_TIMEOUT_MS = 15_000;

/** Runs system commands in one network namespace (the current one when `netns` is undefined). */
export class Runner {
  constructor(readonly netns?: string) {}

  /** `argv` as it must be spawned to run in this runner's namespace. */
  argv(argv: string[]): string[] {
    return this.netns === undefined ? argv : ["ip", "netns", "exec", this.netns, ...argv];
  }

  /** Runs to completion; never throws on a non-zero exit. */
  async run(
    argv: string[],
    opts: { stdin?: string; timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    const [program, ...args] = this.argv(argv);
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(program!, {
        args,
        stdin: opts.stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (err) {
      throw new UnavailableError(`cannot run ${program}: is it installed?`, { cause: err });
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        child.kill("SIGKILL");
      } catch { /* exited meanwhile */ }
    }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    try {
      if (opts.stdin !== undefined) {
        const w = child.stdin.getWriter();
        await w.write(new TextEncoder().encode(opts.stdin)).catch(() => {});
        await w.close().catch(() => {});
      }
      const out = await child.output();
      if (timedOut) {
        throw new DeadlineExceededError(`${argv.join(" ")} did not finish in time`);
      }
      return {
        code: out.code,
        stdout: decoder.decode(out.stdout),
        stderr: decoder.decode(out.stderr),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs and returns stdout; a non-zero exit throws with the command's stderr. */
  async must(argv: string[], opts: { stdin?: string } = {}): Promise<string> {
    const r = await this.run(argv, opts);
    if (r.code !== 0) {
      throw new WarrenError(
        "internal",
        `${argv.join(" ")} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`,
      );
    }
    return r.stdout;
  }
}
