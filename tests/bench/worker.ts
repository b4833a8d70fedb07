/**
 * The `worker` benchmark suite: a private containerd, a real registry, an in-process manager with
 * its default timings (50 ms Raft ticks, 20 ms dispatcher batches, the orchestrator's defaults)
 * and one worker node as its own OS process (tests/bench/_worker_proc.ts), all on loopback.
 * Tasks run the busybox test image as `sleep 600` (host network, no health check).
 *
 * Metrics (times are observed in the manager's store, i.e. once committed through Raft):
 * - `task_start_ms_p50` / `task_start_ms_p99`: 50 tasks started one at a time (a service scaled
 *   up by one, image cached): the task's `assigned` state → its `running` state;
 * - `converge_s_30`: a 30-replica service created on the one worker → all 30 running;
 *   `runtime_start_s_30`: the floor under it, the same 30 containers started straight through the
 *   runtime (no manager, no worker);
 * - `worker_rss_mb_20_tasks`: the worker process's VmRSS with 20 tasks running, after a peak of
 *   50 (V8 flags as the compiled binary's, see {@link WORKER_V8_FLAGS});
 *   `worker_rss_mb_20_tasks_fresh`: the same on the way up, before any larger peak;
 * - `worker_cpu_s`: CPU time the worker process used over the whole run (what a V8 flag or a
 *   change costs in CPU, less noisy than latencies on a shared machine).
 * @module
 */
import { join } from "node:path";
import { Manager } from "../../manager/manager.ts";
import { write } from "../../manager/api/context.ts";
import { WarrenClient } from "../../net/client/client.ts";
import { configureLogging } from "../../proto/log.ts";
import {
  isTerminal,
  type ServiceSpecInput,
  type Task,
  type TaskState,
} from "../../proto/schema/mod.ts";
import { VERSION } from "../../proto/version.ts";
import { ContainerdRuntime } from "../../runtime/containerd/runtime.ts";
import { startContainerd } from "../fixtures/containerd.ts";
import { buildExitImage, pushImage } from "../fixtures/image.ts";
import { startRegistry } from "../fixtures/registry.ts";
import { bundle } from "../../tools/bundle.ts";
import type { BenchContext, BenchSuite } from "./_suite.ts";
import { percentile, round } from "./_stats.ts";
import { cpuSeconds, rssMib } from "./_proc.ts";
import type { WorkerProcConfig } from "./_worker_proc.ts";

const WORKER_PROC = new URL("./_worker_proc.ts", import.meta.url).pathname;
/**
 * Where the worker process's bundle goes. The worker runs from a bundle built like the one the
 * `warren` binary is compiled from (`deno task bundle`: minified, split into chunks), so its
 * memory is what a node would see: Deno keeps each loaded module's source and what it compiled
 * from it, and the sources' many modules cost ~10 MiB more. `WARREN_BENCH_WORKER_FROM_SOURCE=1`
 * runs the sources instead.
 */
const WORKER_BUNDLE_DIR = new URL("../../dist/bench-worker", import.meta.url).pathname;

/** Builds the worker process's bundle; returns its entry point. */
async function bundleWorkerProc(): Promise<string> {
  await bundle(WORKER_PROC, WORKER_BUNDLE_DIR);
  const entry = `${WORKER_BUNDLE_DIR}/_worker_proc.js`;
  // A new bundle has no code cache yet: its first process compiles every module and writes the
  // cache (~35 MiB more anonymous memory while idle). Load it once, as a node that ran before.
  const warm = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", entry, "--load-only"],
    stdout: "null",
  }).output();
  if (!warm.success) throw new Error(`${entry} --load-only failed`);
  return entry;
}

/**
 * The V8 flags of the worker process: those the `warren` binary is compiled with
 * (tools/compile.ts), so its RSS is the one a node would see; the environment variable
 * `WARREN_BENCH_WORKER_V8_FLAGS` replaces them (empty: V8's defaults).
 */
const WORKER_V8_FLAGS = Deno.env.get("WARREN_BENCH_WORKER_V8_FLAGS") ??
  "--max-semi-space-size=2,--heap-growing-percent=20";

/**
 * Where `pid`'s resident memory is, in MiB, from /proc/PID/smaps: anonymous mappings (V8's heap
 * and other mmap'ed memory), `[heap]` (malloc), the deno executable's pages (code and data run so
 * far) and other files.
 */
async function rssParts(pid: number): Promise<Record<string, number>> {
  const smaps = await Deno.readTextFile(`/proc/${pid}/smaps`);
  const kb: Record<string, number> = { anon: 0, malloc: 0, deno: 0, files: 0 };
  let part = "anon";
  for (const line of smaps.split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1]!;
      part = name === "[heap]"
        ? "malloc"
        : name === Deno.execPath()
        ? "deno"
        : name.startsWith("/")
        ? "files"
        : "anon";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) kb[part]! += Number(rss[1]);
  }
  return Object.fromEntries(Object.entries(kb).map(([k, v]) => [k, round(v / 1024, 1)]));
}

/** VmRSS of the worker as a metric, and where it is as a log line. */
async function emitRss(ctx: BenchContext, pid: number, metric: string): Promise<void> {
  const [mb, parts] = await Promise.all([rssMib(pid), rssParts(pid)]);
  ctx.emit(metric, round(mb, 1), "MiB");
  ctx.log(
    `${metric}: ${
      Object.entries(parts).map(([k, v]) => `${k} ${v}`).join(", ")
    } MiB (from /proc/${pid}/smaps)`,
  );
}

/** When each task was first seen (in this process) in each state. */
class TaskClock {
  readonly seen = new Map<string, Map<TaskState, number>>();
  #waiters: { cond: () => boolean; resolve: () => void }[] = [];

  observe(t: Task): void {
    let m = this.seen.get(t.id);
    if (!m) this.seen.set(t.id, m = new Map());
    if (!m.has(t.status.state)) m.set(t.status.state, performance.now());
    this.#waiters = this.#waiters.filter((w) => !w.cond() || (w.resolve(), false));
  }

  /** Resolves once `cond` holds (checked after every task change); fails after `timeoutMs`. */
  until(cond: () => boolean, what: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const fail = () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      const t = setTimeout(fail, timeoutMs);
      const abort = () => {
        clearTimeout(t);
        reject(new Error(`aborted while waiting for ${what}`));
      };
      signal.addEventListener("abort", abort, { once: true });
      this.#waiters.push({
        cond,
        resolve: () => {
          clearTimeout(t);
          signal.removeEventListener("abort", abort);
          resolve();
        },
      });
    });
  }
}

async function startManager(dir: string): Promise<Manager> {
  const mgr = await Manager.start({
    dataDir: dir,
    apiAddr: "127.0.0.1:0",
    raftAddr: "127.0.0.1:0",
    httpAddr: "127.0.0.1:0",
    advertiseAddr: "127.0.0.1",
    init: { clusterName: "bench-worker" },
    insecure: true,
  });
  const at = Date.now();
  // The manager's own node runs nothing: every task goes to the worker process.
  await write(mgr.ctx, {
    kind: "node.update",
    at,
    id: mgr.identity.nodeId,
    update: { availability: "drain", labelsAdd: {}, labelsRemove: [] },
  });
  await write(mgr.ctx, {
    kind: "node.register",
    at,
    node: {
      id: "w1",
      hostname: "w1",
      role: "worker",
      addresses: { advertise: "127.0.0.1" },
      labels: {},
      resources: { nanoCpus: 64e9, memoryBytes: 2 ** 36 },
      platform: { os: "linux", arch: "amd64" },
      availability: "active",
      status: { state: "unknown", message: "", lastHeartbeatAt: 0 },
      version: VERSION,
      createdAt: at,
      updatedAt: at,
    },
  });
  return mgr;
}

async function run(ctx: BenchContext): Promise<void> {
  configureLogging({ level: "error" });
  const starts = ctx.quick ? 10 : 50;
  const load = await Deno.readTextFile("/proc/loadavg").catch(() => "?");
  ctx.log(`load average before the run: ${load.trim()}`);
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const ctd = await startContainerd();
    cleanups.push(() => ctd.stop());
    const registry = await startRegistry();
    cleanups.push(() => registry.stop());
    const image = (await pushImage(
      registry,
      "warren/exit",
      "v1",
      await buildExitImage({
        exitCode: 0,
      }),
    )).reference;
    const dir = await Deno.makeTempDir({ prefix: "warren-bench-worker-" });
    cleanups.push(() => Deno.remove(dir, { recursive: true }));
    const floorS = await runtimeFloor(ctd, image, join(dir, "floor"));
    ctx.log(`30 containers straight through the runtime: all running after ${floorS} s`);
    ctx.emit("runtime_start_s_30", floorS, "s");
    const mgr = await startManager(join(dir, "manager"));
    cleanups.push(() => mgr.stop());
    const clock = new TaskClock();
    const unsubscribe = mgr.store.onApplied((_i, changes) => {
      for (const c of changes) if (c.kind === "task") clock.observe(c.task);
    });
    cleanups.push(() => Promise.resolve(unsubscribe()));
    const client = new WarrenClient({ managers: [mgr.apiAddress] });
    cleanups.push(() => Promise.resolve(client.close()));

    // The worker: its own process.
    const config: WorkerProcConfig = {
      nodeId: "w1",
      manager: mgr.apiAddress,
      dataDir: join(dir, "node"),
      socket: ctd.socket,
      namespace: ctd.namespace,
      runcRoot: ctd.runcRoot,
    };
    const fromSource = Deno.env.get("WARREN_BENCH_WORKER_FROM_SOURCE") === "1";
    const entry = fromSource ? WORKER_PROC : await bundleWorkerProc();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        // A bundle outside the project's deno.json does not get its "unstable" list.
        "--unstable-kv",
        ...(WORKER_V8_FLAGS ? [`--v8-flags=${WORKER_V8_FLAGS}`] : []),
        entry,
        JSON.stringify(config),
      ],
      stdout: "piped",
      stderr: "inherit",
      stdin: "null",
    }).spawn();
    cleanups.push(async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      const t = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 10_000);
      await child.status;
      clearTimeout(t);
      // Remove what the worker left running (it keeps containers for re-adoption).
      const rt = new ContainerdRuntime({
        socket: ctd.socket,
        namespace: ctd.namespace,
        dataDir: join(dir, "node", "runtime"),
        runcRoot: ctd.runcRoot,
        cgroupParent: `/${ctd.namespace}`,
      });
      for (const c of await rt.list().catch(() => [])) await rt.remove(c.id).catch(() => {});
      await rt.close();
    });
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the worker process exited before it was ready: ${out}`);
      out += value;
    }
    void (async () => {
      while (!(await reader.read().catch(() => ({ done: true }))).done) { /* drain */ }
    })();
    ctx.log(
      `worker process ${child.pid} ready from ${fromSource ? "the sources" : "a bundle"} ` +
        `(V8 flags: ${WORKER_V8_FLAGS || "none"})`,
    );
    await emitRss(ctx, child.pid, "worker_rss_mb_idle");

    const tasksOf = (serviceId: string) =>
      [...mgr.store.state.tasks.values()].filter((t) => t.serviceId === serviceId);
    const running = (serviceId: string) =>
      tasksOf(serviceId).filter((t) => t.status.state === "running" && t.desiredState === "running")
        .length;
    const spec = (name: string, replicas: number): ServiceSpecInput => ({
      name,
      image,
      command: ["sleep", "600"],
      replicas,
      stopGracePeriodMs: 100,
    });
    const removeAll = async (serviceId: string) => {
      await client.services.delete(serviceId);
      await clock.until(
        () => tasksOf(serviceId).every((t) => isTerminal(t.status.state)),
        "tasks stopped",
        60_000,
        ctx.signal,
      );
    };

    // Warm-up: pull the image once (every later start has it cached).
    const warm = (await client.services.create(spec("warm", 1))).id;
    await clock.until(() => running(warm) === 1, "warm-up task running", 60_000, ctx.signal);
    await removeAll(warm);

    // task_start: scale up by one, 50 times.
    const svc = (await client.services.create(spec("start", 0))).id;
    const startMs: number[] = [];
    for (let n = 1; n <= starts; n++) {
      await client.services.scale(svc, n);
      await clock.until(() => running(svc) === n, `${n} running`, 30_000, ctx.signal);
      const t = tasksOf(svc).find((x) => x.slot === n && x.desiredState === "running")!;
      const seen = clock.seen.get(t.id)!;
      const assigned = seen.get("assigned") ?? seen.get("pending") ?? seen.get("new")!;
      startMs.push(seen.get("running")! - assigned);
      // 20 tasks before any larger peak: against worker_rss_mb_20_tasks (same count after 50),
      // it tells what a peak leaves behind from what the tasks themselves cost.
      if (n === 20) await emitRss(ctx, child.pid, "worker_rss_mb_20_tasks_fresh");
    }
    ctx.log(
      `one at a time, median ms per step: ${steps(tasksOf(svc).map((t) => clock.seen.get(t.id)!))}`,
    );
    ctx.log(
      `task start (assigned → running, ${starts} one at a time): ${
        startMs.map((x) => Math.round(x)).join(" ")
      } ms`,
    );
    ctx.emit("task_start_ms_p50", round(percentile(startMs, 50), 1), "ms");
    ctx.emit("task_start_ms_p99", round(percentile(startMs, 99), 1), "ms");

    // worker RSS with 20 tasks.
    await client.services.scale(svc, 20);
    await clock.until(
      () => tasksOf(svc).filter((t) => t.status.state === "running").length === 20,
      "20 running",
      60_000,
      ctx.signal,
    );
    await new Promise((r) => setTimeout(r, 2_000)); // let stops and removals settle
    await emitRss(ctx, child.pid, "worker_rss_mb_20_tasks");

    await removeAll(svc);

    // converge: 30 replicas from create to all running.
    const t0 = performance.now();
    const big = (await client.services.create(spec("big", 30))).id;
    await clock.until(() => running(big) === 30, "30 running", 120_000, ctx.signal);
    const convergeS = (performance.now() - t0) / 1000;
    const firstRunning = Math.min(
      ...tasksOf(big).map((t) => clock.seen.get(t.id)?.get("running") ?? Infinity),
    );
    ctx.log(
      `30 replicas: first running after ${round((firstRunning - t0) / 1000, 2)} s, all after ${
        round(convergeS, 2)
      } s`,
    );
    ctx.log(
      `30 replicas, per state (s after create: first / median / last): ${
        stages(tasksOf(big).map((t) => clock.seen.get(t.id)!), t0)
      }`,
    );
    ctx.emit("converge_s_30", round(convergeS, 2), "s");
    await emitRss(ctx, child.pid, "worker_rss_mb_30_tasks");
    await removeAll(big);
    ctx.emit("worker_cpu_s", round(await cpuSeconds(child.pid), 2), "s");
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err) => ctx.log(`cleanup: ${err}`));
  }
}

/**
 * The floor under `converge_s_30`: the same 30 containers (image, command, host network, log
 * driver) prepared and started concurrently straight through {@link ContainerdRuntime}, with no
 * manager, worker or Raft; seconds until the last start returned. Everything is removed after.
 */
async function runtimeFloor(
  ctd: { socket: string; namespace: string; runcRoot: string },
  image: string,
  dataDir: string,
): Promise<number> {
  const rt = new ContainerdRuntime({
    socket: ctd.socket,
    namespace: ctd.namespace,
    dataDir,
    runcRoot: ctd.runcRoot,
    cgroupParent: `/${ctd.namespace}`,
  });
  const ids = Array.from({ length: 30 }, (_, i) => `floor-${i}`);
  try {
    await rt.pull(image);
    const t0 = performance.now();
    await Promise.all(ids.map(async (taskId) => {
      await rt.prepare({ taskId, image, command: ["sleep", "600"], network: { mode: "host" } });
      await rt.start(taskId);
    }));
    return round((performance.now() - t0) / 1000, 2);
  } finally {
    await Promise.all(ids.map(async (id) => {
      await rt.stop(id, { gracePeriodMs: 0 }).catch(() => {});
      await rt.remove(id).catch(() => {});
    }));
    await rt.close();
  }
}

/** When the tasks reached each state, relative to `t0`: first / median / last, in seconds. */
function stages(seen: Map<TaskState, number>[], t0: number): string {
  const states: TaskState[] = [
    "pending",
    "assigned",
    "accepted",
    "preparing",
    "starting",
    "running",
  ];
  return states.map((st) => {
    const at = seen.map((m) => m.get(st)).filter((x): x is number => x !== undefined)
      .map((x) => (x - t0) / 1000);
    if (at.length === 0) return `${st} -`;
    const f = (p: number) => round(percentile(at, p), 2);
    return `${st} ${f(0)}/${f(50)}/${f(100)} (${at.length})`;
  }).join(", ");
}

/** Median time between consecutive observed states, in ms. */
function steps(seen: Map<TaskState, number>[]): string {
  const order: TaskState[] = ["assigned", "preparing", "starting", "running"];
  return order.slice(1).map((to, i) => {
    const from = order[i]!;
    const d = seen.map((m) => (m.get(to) ?? NaN) - (m.get(from) ?? NaN)).filter((x) => x >= 0);
    return `${from}→${to} ${Math.round(percentile(d, 50))}`;
  }).join(", ");
}

/** The suite. */
export const suite: BenchSuite = {
  description: "worker on real containerd: task start latency, 30-replica converge, worker RSS",
  timeoutMs: 600_000,
  run,
};
