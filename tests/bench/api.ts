/**
 * Suite "api": the manager API as users hit it, over gRPC with mutual TLS, against real manager
 * processes (`warren cluster init --manager-only`, `warren join`) with Deno KV storage.
 * - service_create_per_s_c1 / _c50: creates per second, 1 manager, 1 and 50 in flight;
 *   service_create_cpu_ms_client / _manager: CPU time per create one at a time, in this process
 *   (the client) and in the manager; grpc_call_per_s_c1: stale `ClusterService/GetInfo` calls
 *   one at a time, the round trip under a create with no work behind it;
 * - service_create_per_s_c50_3m: the same with 3 managers (writes through the leader);
 * - service_list_p99_ms: `ServiceService/List` with 1,000 services;
 * - manager_rss_mb_idle: a started manager's RSS before any load, idle (what a cluster's managers
 *   cost at rest);
 * - manager_rss_mb_after_load: its RSS 2 s after the loads above (7,000 creates, 6,000 deletes,
 *   300 lists), as this metric was measured before;
 * - manager_rss_mb_after_load_settled: the same 10 s later. Most of the difference is garbage
 *   (message buffers outside the JS heap) that V8 collects only when its memory reducer runs
 *   a full GC on an idle process, 8 s after activity stops by default.
 *
 * The managers and the CLI run from the bundle the shipped binary is compiled from
 * (`deno task bundle`, tools/compile.ts), not from the sources: what a node runs.
 * @module
 */
import { join } from "node:path";
import type { BenchContext, BenchSuite } from "./_suite.ts";
import {
  adminClient,
  cli,
  daemonFlags,
  gauge,
  kill,
  managerProc,
  startDaemon,
  until,
} from "../integration/_cluster_procs.ts";
import type { WarrenClient } from "../../net/client/client.ts";
import process from "node:process";
import { cpuSeconds, rssMib } from "./_proc.ts";

const IMAGE = "registry.local/bench:1";

async function createMany(
  c: WarrenClient,
  prefix: string,
  n: number,
  inFlight: number,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < n) {
      const i = next++;
      await c.services.create({ name: `${prefix}-${i}`, image: IMAGE, replicas: 0 });
    }
  }));
  return n / ((performance.now() - t0) / 1000);
}

/** CPU time (user + system) this process, the client, has used, in ms. */
function clientCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Milliseconds per call, two decimals. */
function perCall(ms: number, calls: number): number {
  return Number((ms / calls).toFixed(2));
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** Builds the bundle (`deno task bundle`) and returns its entry point. */
async function bundle(): Promise<string> {
  const { success } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "bundle"],
    stdout: "null",
  }).spawn().status;
  if (!success) throw new Error("deno task bundle failed");
  return new URL("../../dist/warren/main.js", import.meta.url).pathname;
}

/**
 * Starts a throwaway manager from the bundle and stops it: a new bundle has no code cache yet,
 * and its first process compiles every module it loads and writes the cache (idle RSS ~20 MB
 * higher). The measured managers then start as on a node that ran before.
 */
async function warmCodeCache(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "warren-bench-warm-" });
  const m = managerProc("warm", dir);
  try {
    await startDaemon(
      m,
      { WARREN_CONFIG: join(dir, "config.json"), NO_COLOR: "1" },
      ["cluster", "init", "--manager-only", ...daemonFlags(m)],
      /cluster \S+ running/,
    );
  } finally {
    await kill(m, "SIGTERM").catch(() => kill(m));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function run(ctx: BenchContext): Promise<void> {
  Deno.env.set("WARREN_ENTRY", await bundle());
  try {
    await warmCodeCache();
    await runFromBundle(ctx);
  } finally {
    Deno.env.delete("WARREN_ENTRY");
  }
}

async function runFromBundle(ctx: BenchContext): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "warren-bench-api-" });
  const configPath = join(dir, "cli", "config.json");
  const env = { WARREN_CONFIG: configPath, NO_COLOR: "1" };
  const ms = ["m1", "m2", "m3"].map((n) => managerProc(n, dir));
  const n1 = ctx.quick ? 200 : 2000;
  const n50 = ctx.quick ? 500 : 5000;
  try {
    await startDaemon(
      ms[0],
      env,
      ["cluster", "init", "--manager-only", ...daemonFlags(ms[0])],
      /cluster \S+ running/,
    );
    await new Promise((r) => setTimeout(r, 2000));
    const idleMb = await rssMib(ms[0].child!.pid);
    using one = await adminClient(configPath, [ms[0].api]);
    const mgrPid = ms[0].child!.pid;
    ctx.log(`1 manager: ${n1} creates one at a time`);
    const cpu0 = { client: clientCpuMs(), manager: await cpuSeconds(mgrPid) };
    ctx.emit("service_create_per_s_c1", Math.round(await createMany(one, "c1", n1, 1)), "1/s");
    ctx.emit("service_create_cpu_ms_client", perCall(clientCpuMs() - cpu0.client, n1), "ms");
    ctx.emit(
      "service_create_cpu_ms_manager",
      perCall((await cpuSeconds(mgrPid) - cpu0.manager) * 1000, n1),
      "ms",
    );
    // The floor under a create: the same client and connection, a call with no work behind it.
    ctx.log(`1 manager: ${n1} stale cluster info calls one at a time`);
    const t0 = performance.now();
    for (let i = 0; i < n1; i++) await one.cluster.info({ stale: true });
    ctx.emit("grpc_call_per_s_c1", Math.round(n1 / ((performance.now() - t0) / 1000)), "1/s");
    ctx.log(`1 manager: ${n50} creates, 50 in flight`);
    ctx.emit("service_create_per_s_c50", Math.round(await createMany(one, "c50", n50, 50)), "1/s");

    // List with 1,000 services (trim or top up to exactly 1,000).
    const have = (await one.services.list()).services.length;
    if (have < 1000) await createMany(one, "fill", 1000 - have, 20);
    const all = (await one.services.list()).services;
    for (const s of all.slice(1000)) await one.services.delete(s.id);
    const lat: number[] = [];
    for (let i = 0; i < (ctx.quick ? 50 : 300); i++) {
      const t0 = performance.now();
      const r = await one.services.list();
      lat.push(performance.now() - t0);
      if (r.services.length !== 1000) {
        throw new Error(`listed ${r.services.length} services, not 1000`);
      }
    }
    // The samples in call order, for finding periodic stalls (GC) by eye; see README.md.
    const samplesPath = Deno.env.get("WARREN_BENCH_LIST_SAMPLES");
    if (samplesPath) await Deno.writeTextFile(samplesPath, lat.map((x) => x.toFixed(2)).join("\n"));
    lat.sort((a, b) => a - b);
    ctx.log(
      `list of 1,000: p50 ${pct(lat, 0.5).toFixed(2)} ms, p90 ${pct(lat, 0.9).toFixed(2)} ms, ` +
        `max ${lat[lat.length - 1].toFixed(2)} ms`,
    );
    ctx.emit("service_list_p99_ms", Number(pct(lat, 0.99).toFixed(2)), "ms");

    await new Promise((r) => setTimeout(r, 2000));
    ctx.emit("manager_rss_mb_idle", Math.round(idleMb), "MB");
    ctx.emit("manager_rss_mb_after_load", Math.round(await rssMib(ms[0].child!.pid)), "MB");
    await new Promise((r) => setTimeout(r, 10_000));
    ctx.emit("manager_rss_mb_after_load_settled", Math.round(await rssMib(ms[0].child!.pid)), "MB");

    // Three managers.
    const tok = await cli(env, ["cluster", "join-token", "manager", "-q"]);
    const token = tok.stdout.split(/\s+/).find((w) => w.startsWith("WRN1-"));
    if (!token) throw new Error(`no manager token: ${tok.stderr}`);
    for (const m of ms.slice(1)) {
      await startDaemon(
        m,
        env,
        ["join", ms[0].api, "--token", token, "--manager-only", ...daemonFlags(m)],
        /manager \S+ of cluster/,
      );
      await until(
        async () => (await gauge(ms[0], "warren_raft_voters")) >= ms.indexOf(m) + 1,
        `${m.name} voter`,
      );
    }
    using three = await adminClient(configPath, ms.map((m) => m.api));
    ctx.log(`3 managers: ${n50} creates, 50 in flight`);
    ctx.emit(
      "service_create_per_s_c50_3m",
      Math.round(await createMany(three, "m3", n50, 50)),
      "1/s",
    );
  } finally {
    for (const m of ms) await kill(m, "SIGTERM").catch(() => kill(m));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The api suite. */
export const suite: BenchSuite = {
  description: "manager API over gRPC+mTLS: creates/s (1 and 3 managers), list p99, idle RSS",
  timeoutMs: 600_000,
  run,
};
