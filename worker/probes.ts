/**
 * The three kinds of health probe. HTTP and TCP probes go from the worker to the task's IP
 * (127.0.0.1 for host-network tasks); exec probes run inside the container via the runtime.
 * @module
 */
import type { HealthCheck } from "../proto/schema/mod.ts";
import type { ExecResult, ExecSession, Runtime } from "../runtime/runtime.ts";

/** Output of an exec check kept for its error message (the rest is read and dropped). */
const EXEC_OUTPUT_MAX = 4096;

/** Outcome of one probe. */
export type ProbeResult = { ok: true } | { ok: false; error: string };

/** Runs one probe; must give up when `signal` aborts (the timeout). */
export type Probe = (signal: AbortSignal) => Promise<ProbeResult>;

/** Where a probe looks. */
export interface ProbeTarget {
  runtime: Runtime;
  containerId: string;
  /** Address HTTP and TCP probes connect to. */
  host: string;
}

/** The probe for `check` against `target`. */
export function makeProbe(check: HealthCheck, target: ProbeTarget): Probe {
  switch (check.type) {
    case "http":
      return (signal) => httpProbe(target.host, check.http!, signal);
    case "tcp":
      return (signal) => tcpProbe(target.host, check.tcp!.port, signal);
    case "exec":
      return (signal) => execProbe(target, check.exec!.command, signal);
  }
}

async function httpProbe(
  host: string,
  http: NonNullable<HealthCheck["http"]>,
  signal: AbortSignal,
): Promise<ProbeResult> {
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${http.port}${http.path}`;
  try {
    const res = await fetch(url, { signal, redirect: "manual" });
    await res.body?.cancel();
    if (res.status >= http.statusMin && res.status <= http.statusMax) return { ok: true };
    return {
      ok: false,
      error: `GET ${url} answered ${res.status}, outside ${http.statusMin}-${http.statusMax}`,
    };
  } catch (err) {
    return { ok: false, error: `GET ${url} failed: ${describe(err, signal)}` };
  }
}

async function tcpProbe(host: string, port: number, signal: AbortSignal): Promise<ProbeResult> {
  try {
    const conn = await abortable(Deno.connect({ hostname: host, port }), signal, (c) => c.close());
    conn.close();
    return { ok: true };
  } catch (err) {
    return { ok: false, error: `connect to ${host}:${port} failed: ${describe(err, signal)}` };
  }
}

async function execProbe(
  target: ProbeTarget,
  cmd: string[],
  signal: AbortSignal,
): Promise<ProbeResult> {
  try {
    const r = await execKilledOnAbort(target, cmd, signal);
    if (r.exitCode === 0) return { ok: true };
    const out = (r.stderr || r.stdout).trim().slice(0, 200);
    return { ok: false, error: `${cmd.join(" ")} exited with code ${r.exitCode}: ${out}` };
  } catch (err) {
    return { ok: false, error: `${cmd.join(" ")} failed: ${describe(err, signal)}` };
  }
}

/**
 * Runs `cmd` in the container. When `signal` aborts (the check timed out) the process is killed:
 * left running, a hung check would keep its process, fifos and Tasks/Wait for good, one more
 * every interval.
 */
async function execKilledOnAbort(
  target: ProbeTarget,
  cmd: string[],
  signal: AbortSignal,
): Promise<ExecResult> {
  const kill = (s: ExecSession) => void s.kill("SIGKILL").catch(() => {}); // exited already
  const session = await abortable(
    target.runtime.execStream(target.containerId, { cmd }),
    signal,
    kill,
  );
  const onAbort = () => kill(session);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    await session.stdin.close().catch(() => {}); // no input, as Docker's checks
    const result = Promise.all([
      session.exited,
      readText(session.stdout),
      readText(session.stderr),
    ]);
    const [exitCode, stdout, stderr] = await abortable(result, signal);
    return { exitCode, stdout, stderr };
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** Reads `stream` to its end, keeping the first {@link EXEC_OUTPUT_MAX} characters. */
async function readText(stream: ReadableStream<Uint8Array>): Promise<string> {
  const dec = new TextDecoder();
  let s = "";
  for await (const chunk of stream) {
    if (s.length < EXEC_OUTPUT_MAX) s += dec.decode(chunk, { stream: true });
  }
  return s.slice(0, EXEC_OUTPUT_MAX);
}

/** Races `p` against `signal`; a late result is disposed of with `dispose`. */
function abortable<T>(p: Promise<T>, signal: AbortSignal, dispose?: (v: T) => void): Promise<T> {
  if (signal.aborted) {
    p.then((v) => dispose?.(v), () => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      p.then((v) => dispose?.(v), () => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

function describe(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return "timed out";
  return err instanceof Error ? err.message : String(err);
}
