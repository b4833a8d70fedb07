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
 *   a full GC on an idle process, 8 s after activity stops by default;
 * - floor_*: the transport under all of the above, measured while the manager settles, with the
 *   manager's and the CLI's certificates but no gRPC library and no Warren code
 *   (./_transport_floor.ts): `floor_tls_per_s_c1` and `floor_http2_per_s_c1` are exchanges of a
 *   create's size one at a time over `node:tls` and over `node:http2`;
 *   `floor_http2_list_p99_ms` is the p99 of an HTTP/2 exchange answered with as many bytes as
 *   the list of 1,000 services; `floor_kv_commit_per_s_c1` is durable Deno KV commits of a Raft
 *   entry's size one at a time (./_kv_floor.ts). No create one at a time can beat the HTTP/2
 *   rate, and no list the HTTP/2 p99.
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
import { readTlsFiles } from "../../manager/tls_files.ts";
import { MANAGER_SERVER_NAME } from "../../net/grpc/tls.ts";
import * as wire from "../../proto/gen/warren.ts";
import { codecs } from "../../proto/convert.ts";
import type * as d from "../../proto/schema/mod.ts";
import { openFloorHttp2, startFloorServer, tlsExchanges } from "./_transport_floor.ts";
import { kvCommits } from "./_kv_floor.ts";

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
    let listed: d.ListServicesResponse | undefined;
    for (let i = 0; i < (ctx.quick ? 50 : 300); i++) {
      const t0 = performance.now();
      const r = await one.services.list();
      lat.push(performance.now() - t0);
      if (r.services.length !== 1000) {
        throw new Error(`listed ${r.services.length} services, not 1000`);
      }
      listed = r;
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
    // The transport floor runs in this process while the idle manager settles.
    const settleFrom = performance.now();
    const listBytes = wire.ListServicesResponse.encode(
      codecs.ListServicesResponse.toWire(listed!),
    ).finish().length;
    await transportFloor(ctx, { dataDir: ms[0].dataDir, configPath, listBytes });
    const commits = await kvCommits(dir, ctx.quick ? 200 : 1000);
    ctx.emit(
      "floor_kv_commit_per_s_c1",
      Math.round(commits.length / (commits.reduce((a, b) => a + b) / 1000)),
      "1/s",
    );
    await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (performance.now() - settleFrom))));
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

/** A create's request and answer on the wire, roughly: the floor's exchanges one at a time. */
const CREATE_BYTES = { requestBytes: 120, replyBytes: 900 };

/**
 * Emits the floor_* metrics (see the module doc): the manager's certificate serves, the CLI's
 * certificate calls, as in the measurements above.
 */
async function transportFloor(
  ctx: BenchContext,
  at: { dataDir: string; configPath: string; listBytes: number },
): Promise<void> {
  const server = await readTlsFiles(at.dataDir);
  const cfg = JSON.parse(await Deno.readTextFile(at.configPath));
  const [caPem, certPem, keyPem] = await Promise.all(
    [cfg.tls.caFile, cfg.tls.certFile, cfg.tls.keyFile].map((f: string) => Deno.readTextFile(f)),
  );
  const client = { caPem, certPem, keyPem };
  await using floor = await startFloorServer(server);
  const n = ctx.quick ? 200 : 2000;
  const perSecond = (ms: number[]) => Math.round(ms.length / (ms.reduce((a, b) => a + b) / 1000));
  const small = { n, warmup: 200, ...CREATE_BYTES };
  const viaTls = await tlsExchanges(floor.tlsPort, client, MANAGER_SERVER_NAME, small);
  ctx.emit("floor_tls_per_s_c1", perSecond(viaTls), "1/s");
  const h2 = await openFloorHttp2(floor.http2Port, client, MANAGER_SERVER_NAME);
  let viaHttp2: number[];
  let lists: number[];
  try {
    viaHttp2 = await h2.exchanges(small);
    lists = await h2.exchanges({
      n: ctx.quick ? 50 : 300,
      warmup: 20,
      requestBytes: 10,
      replyBytes: at.listBytes,
    });
  } finally {
    h2.close();
  }
  ctx.emit("floor_http2_per_s_c1", perSecond(viaHttp2), "1/s");
  lists.sort((a, b) => a - b);
  ctx.log(
    `floor: HTTP/2 exchange of ${at.listBytes} bytes (a list of 1,000): ` +
      `p50 ${pct(lists, 0.5).toFixed(2)} ms, max ${lists[lists.length - 1].toFixed(2)} ms`,
  );
  ctx.emit("floor_http2_list_p99_ms", Number(pct(lists, 0.99).toFixed(2)), "ms");
}

/** The api suite. */
export const suite: BenchSuite = {
  description: "manager API over gRPC+mTLS: creates/s (1 and 3 managers), list p99, idle RSS",
  timeoutMs: 600_000,
  run,
};
