/**
 * The environment of the worker's integration tests: a private containerd, a real registry with
 * the test images pushed, an in-process manager with node `w1` joined, and worker nodes over
 * the containerd runtime. Disposing removes every container, then stops everything.
 */
import { join } from "node:path";
import { configureLogging } from "../../proto/log.ts";
import { VERSION } from "../../proto/version.ts";
import { ContainerdRuntime } from "../../runtime/containerd/runtime.ts";
import { startWorkerNode, type WorkerNode } from "../../worker/node.ts";
import { startTestManager, type TestManager } from "../../worker/_test_manager.ts";
import { startContainerd, type TestContainerd } from "../fixtures/containerd.ts";
import { buildExitImage, buildHttpServerImage, pushImage } from "../fixtures/image.ts";
import { startRegistry, type TestRegistry } from "../fixtures/registry.ts";

configureLogging({ level: "error" });

/** Everything a worker integration test needs. */
export interface WorkerEnv extends AsyncDisposable {
  ctd: TestContainerd;
  registry: TestRegistry;
  manager: TestManager;
  /** The node's data directory (worker state under `worker/`, runtime under `runtime/`). */
  dataDir: string;
  /** The HTTP test image (serves `warren-test-http version=v1 host=<hostname>` on $PORT). */
  httpImage: string;
  /** The exit test image (exits $WARREN_EXIT_CODE after $WARREN_SLEEP_MS). */
  exitImage: string;
  /** A new containerd runtime instance for the node (as a restarted process would make). */
  newRuntime(): ContainerdRuntime;
  /** Starts worker node `w1` on `runtime`. */
  startNode(runtime: ContainerdRuntime): Promise<WorkerNode>;
}

/** Starts containerd, the registry (images pushed) and a manager with node `w1`. */
export async function workerEnv(): Promise<WorkerEnv> {
  const cleanups: (() => Promise<void>)[] = [];
  const runtimes: ContainerdRuntime[] = [];
  const nodes: WorkerNode[] = [];
  try {
    const ctd = await startContainerd();
    cleanups.push(() => ctd.stop());
    const registry = await startRegistry();
    cleanups.push(() => registry.stop());
    const http = await pushImage(
      registry,
      "warren/http",
      "v1",
      await buildHttpServerImage({ version: "v1" }),
    );
    const exit = await pushImage(
      registry,
      "warren/exit",
      "v3",
      await buildExitImage({ exitCode: 3 }),
    );
    const manager = await startTestManager();
    cleanups.push(async () => await manager[Symbol.asyncDispose]());
    await manager.addNode("w1");
    const dataDir = await Deno.makeTempDir({ prefix: "warren-worker-it-" });
    cleanups.push(() => Deno.remove(dataDir, { recursive: true }));
    const env: WorkerEnv = {
      ctd,
      registry,
      manager,
      dataDir,
      httpImage: http.reference,
      exitImage: exit.reference,
      newRuntime() {
        const r = new ContainerdRuntime({
          socket: ctd.socket,
          namespace: ctd.namespace,
          dataDir: join(dataDir, "runtime"),
          runcRoot: ctd.runcRoot,
          cgroupParent: `/${ctd.namespace}`,
        });
        runtimes.push(r);
        return r;
      },
      async startNode(runtime) {
        const node = await startWorkerNode({
          nodeId: "w1",
          dataDir: join(dataDir, "worker"),
          runtime,
          managers: [manager.apiAddress],
          register: {
            hostname: "w1",
            addresses: { advertise: "127.0.0.1" },
            resources: { nanoCpus: 2e9, memoryBytes: 2 ** 31 },
            platform: { os: "linux", arch: "amd64" },
            version: VERSION,
          },
          reconnectMinMs: 50,
          reconnectMaxMs: 300,
        });
        nodes.push(node);
        return node;
      },
      async [Symbol.asyncDispose]() {
        for (const n of nodes) await n.stop().catch(() => {});
        const r = runtimes[0] ?? env.newRuntime();
        for (const c of await r.list().catch(() => [])) await r.remove(c.id).catch(() => {});
        for (const rt of runtimes) await rt.close().catch(() => {});
        for (const c of cleanups.reverse()) await c().catch(() => {});
      },
    };
    return env;
  } catch (err) {
    for (const n of nodes) await n.stop().catch(() => {});
    for (const c of cleanups.reverse()) await c().catch(() => {});
    throw err;
  }
}

/** A free TCP port on 127.0.0.1. */
export { eventually, freePort } from "../../worker/_test_manager.ts";

/** GETs `url` until it answers (or `timeoutMs` passes); returns status and body. */
export async function fetchWhenUp(
  url: string,
  timeoutMs = 15_000,
): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      return { status: res.status, body: await res.text() };
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
