/**
 * Manager processes for integration tests: real `warren` daemons (`deno run cli/main.ts`, or the
 * entry point `WARREN_ENTRY` names) on loopback with their own data dirs, fixed free ports, and a
 * private CLI config.
 * @module
 */
import { join } from "node:path";
import { channelCredentials, channelOptionsFor, MANAGER_SERVER_NAME } from "../../net/grpc/tls.ts";
import { WarrenClient } from "../../net/client/client.ts";
import { REST_TOKEN_FILE } from "../../manager/api/rest_token.ts";

const SOURCE = new URL("../../cli/main.ts", import.meta.url).pathname;

/**
 * What `warren` runs as: the source by default; `WARREN_ENTRY` names another entry point, such
 * as the bundle `deno task bundle` writes (the code the shipped binary is compiled from). Read at
 * each start, so a bench can switch after building one.
 */
function entry(): string[] {
  // --unstable-kv: a bundle outside the project's deno.json does not get its "unstable" list.
  return ["--unstable-kv", Deno.env.get("WARREN_ENTRY") ?? SOURCE];
}
/**
 * The V8 flags `deno task warren` runs daemons with (and tools/compile.ts compiles into the
 * binary), for nodes with little memory. A small young generation (2 MiB semi-spaces: with 1 MiB,
 * objects living a few hundred ms, such as a gRPC call, were promoted and died in the old one), and
 * an old generation that grows by at most 20% (or V8's minimum step, 8 MiB) over what a full GC
 * left alive. V8's default grows it up to 4x on a host with plenty of memory: the worker's heap,
 * ~20 MiB alive, reached 60 MiB, mostly garbage, before its first full GC. Measured in the
 * `worker` bench (tests/bench/README.md): worker RSS with 20 tasks 116-120 → 100-108 MiB, worker
 * CPU over the run +10% or so.
 */
export const V8_FLAGS = "--v8-flags=--max-semi-space-size=2,--heap-growing-percent=20";

/** A free TCP port on 127.0.0.1 (bind :0, read, close). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** One manager process. */
export interface ManagerProc {
  name: string;
  dataDir: string;
  api: string;
  raft: string;
  http: string;
  child: Deno.ChildProcess | undefined;
  log: string[];
}

/** Runs the CLI once with the test's config; returns code and output. */
export async function cli(
  env: Record<string, string>,
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", ...entry(), ...args],
    env,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const p = cmd.spawn();
  if (stdin !== undefined) {
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await p.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Runs a daemon with `args` until it exits by itself (killed after `timeoutMs`); returns code and
 * output, for a daemon expected to stop on its own (e.g. a manager the cluster removed).
 */
export async function runDaemonToExit(
  env: Record<string, string>,
  args: string[],
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", V8_FLAGS, ...entry(), ...args],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Starts a daemon with `args`; resolves when it printed `marker` on stdout. */
export async function startDaemon(
  m: ManagerProc,
  env: Record<string, string>,
  args: string[],
  marker: RegExp,
  timeoutMs = 30_000,
): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", V8_FLAGS, ...entry(), ...args],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  m.child = child;
  const dec = new TextDecoder();
  let ready: () => void = () => {};
  const seen = new Promise<void>((r) => (ready = r));
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) {
      const text = dec.decode(chunk);
      m.log.push(text);
      if (marker.test(m.log.join(""))) ready();
    }
  };
  void pump(child.stdout);
  void pump(child.stderr);
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    seen,
    child.status.then((s) => {
      throw new Error(`${m.name} exited with ${s.code} before it was ready:\n${m.log.join("")}`);
    }),
    new Promise((_, rej) => {
      timer = setTimeout(
        () => rej(new Error(`${m.name} not ready in ${timeoutMs} ms:\n${m.log.join("")}`)),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A manager's addresses in `dir`. */
export function managerProc(name: string, dir: string): ManagerProc {
  return {
    name,
    dataDir: join(dir, name),
    api: `127.0.0.1:${freePort()}`,
    raft: `127.0.0.1:${freePort()}`,
    http: `127.0.0.1:${freePort()}`,
    child: undefined,
    log: [],
  };
}

/** The daemon flags of `m`. */
export function daemonFlags(m: ManagerProc): string[] {
  return [
    "--data-dir",
    m.dataDir,
    "--api-addr",
    m.api,
    "--raft-addr",
    m.raft,
    "--http-addr",
    m.http,
    "--advertise-addr",
    "127.0.0.1",
    "--log-level",
    "info",
  ];
}

/** Kills a daemon (SIGKILL by default) and waits for it. */
export async function kill(m: ManagerProc, signal: Deno.Signal = "SIGKILL"): Promise<void> {
  if (!m.child) return;
  try {
    m.child.kill(signal);
  } catch { /* gone */ }
  await m.child.status;
  m.child = undefined;
}

/** A client using the admin credentials of the CLI config at `configPath`. */
export async function adminClient(configPath: string, managers: string[]): Promise<WarrenClient> {
  const cfg = JSON.parse(await Deno.readTextFile(configPath));
  const [caPem, certPem, keyPem] = await Promise.all(
    [cfg.tls.caFile, cfg.tls.certFile, cfg.tls.keyFile].map((f: string) => Deno.readTextFile(f)),
  );
  return new WarrenClient({
    managers,
    credentials: channelCredentials({ caPem, certPem, keyPem }),
    channelOptions: channelOptionsFor(MANAGER_SERVER_NAME),
    callTimeoutMs: 5000,
  });
}

/** Polls `probe` until it returns true (bounded). */
export async function until(
  probe: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      if (await probe()) return;
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `fetch` of `path` (e.g. `/v1/services`) on a manager's REST API, with its token. */
export async function restFetch(
  m: ManagerProc,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const token = (await Deno.readTextFile(join(m.dataDir, REST_TOKEN_FILE))).trim();
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  return await fetch(`http://${m.http}${path}`, { ...init, headers });
}

/** A gauge's value from a manager's /metrics. */
export async function gauge(m: ManagerProc, name: string): Promise<number> {
  const text = await (await fetch(`http://${m.http}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : NaN;
}
