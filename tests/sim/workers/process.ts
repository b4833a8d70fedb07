/**
 * Simulated workers in a child process (main.ts), so that a benchmark's process holds only the
 * managers and their memory and CPU are the managers' own.
 * @module
 */
import type { SimWorkersProcessOptions } from "./main.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;
const ROOT = new URL("../../../", import.meta.url).pathname;

/** Stats a worker process reports. */
export interface SimWorkersStats {
  /** Tasks the workers run (their own view). */
  running: number;
  tasks: number;
  /** Nodes with a manager session. */
  connected: number;
  /** The worker process's RSS, MiB. */
  rssMb: number;
}

/** A running worker process. */
export interface SimWorkersProcess extends AsyncDisposable {
  readonly pid: number;
  readonly nodeIds: string[];
  /** Asks the process for its stats. */
  stats(): Promise<SimWorkersStats>;
  /** Stops the workers and waits for the exit (kills after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<void>;
}

/** Starts the process and resolves once every node joined and started (bounded). */
export async function spawnSimWorkers(
  o: SimWorkersProcessOptions,
  opts: { readyTimeoutMs?: number; onStderr?: (line: string) => void; denoFlags?: string[] } = {},
): Promise<SimWorkersProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...(opts.denoFlags ?? []), MAIN, JSON.stringify(o)],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const enc = new TextEncoder();
  const lines: string[] = [];
  let waiter: (() => void) | undefined;
  const errDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (s) => opts.onStderr?.(s) }),
  ).catch(() => {});
  const outDone = (async () => {
    let buf = "";
    for await (const s of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += s;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      waiter?.();
    }
    waiter?.();
  })();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    waiter?.();
    return s;
  });
  const next = async (prefix: string, timeoutMs: number): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const i = lines.findIndex((l) => l.startsWith(prefix));
      if (i >= 0) return lines.splice(i, 1)[0]!.slice(prefix.length);
      if (exited) throw new Error(`the worker process exited before printing "${prefix}"`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no "${prefix}" from the worker process in ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        waiter = () => {
          clearTimeout(t);
          r();
        };
      });
      waiter = undefined;
    }
  };
  const kill = async () => {
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }
    await status;
    await stdin.close().catch(() => {});
    await Promise.all([errDone, outDone]);
  };
  let nodeIds: string[];
  try {
    nodeIds = (JSON.parse(await next("ready ", opts.readyTimeoutMs ?? 120_000)) as {
      nodeIds: string[];
    }).nodeIds;
  } catch (err) {
    await kill();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const stop = (timeoutMs = 15_000) =>
    stopping ??= (async () => {
      await stdin.write(enc.encode("stop\n")).catch(() => {});
      const t = setTimeout(() => void kill(), timeoutMs);
      await status;
      clearTimeout(t);
      await kill();
    })();
  return {
    pid: child.pid,
    nodeIds,
    stats: async () => {
      await stdin.write(enc.encode("stats\n"));
      return JSON.parse(await next("stats ", 30_000)) as SimWorkersStats;
    },
    stop,
    [Symbol.asyncDispose]: () => stop(),
  };
}
