/**
 * A worker node as its own OS process for the `worker` benchmark (so its RSS is its own): the
 * containerd runtime of a test containerd and a worker node connected, without TLS, to the given
 * manager. Prints `ready` once its session and tunnel are up; SIGTERM stops it (containers are
 * left for the caller to remove).
 *
 * deno run -A tests/bench/_worker_proc.ts <config JSON>
 * deno run -A tests/bench/_worker_proc.ts --load-only   (loads the modules and exits: fills Deno's
 *                                                        code cache for a freshly built bundle)
 * @module
 */
import { configureLogging } from "../../proto/log.ts";
import { VERSION } from "../../proto/version.ts";
import { ContainerdRuntime } from "../../runtime/containerd/runtime.ts";
import { startWorkerNode } from "../../worker/node.ts";

/** What the parent passes (JSON in argv[0]). */
export interface WorkerProcConfig {
  nodeId: string;
  manager: string;
  dataDir: string;
  socket: string;
  namespace: string;
  runcRoot: string;
}

if (import.meta.main && Deno.args[0] === "--load-only") Deno.exit(0);

if (import.meta.main) {
  configureLogging({ level: "error" });
  const c = JSON.parse(Deno.args[0]!) as WorkerProcConfig;
  const runtime = new ContainerdRuntime({
    socket: c.socket,
    namespace: c.namespace,
    dataDir: `${c.dataDir}/runtime`,
    runcRoot: c.runcRoot,
    cgroupParent: `/${c.namespace}`,
  });
  const node = await startWorkerNode({
    nodeId: c.nodeId,
    dataDir: `${c.dataDir}/worker`,
    runtime,
    managers: [c.manager],
    register: {
      hostname: c.nodeId,
      addresses: { advertise: "127.0.0.1" },
      resources: { nanoCpus: 64e9, memoryBytes: 2 ** 36 },
      platform: { os: "linux", arch: "amd64" },
      version: VERSION,
    },
  });
  await node.agent.waitConnected(30_000);
  await node.tunnel.waitConnected(30_000);
  console.log("ready");
  const stop = async () => {
    await node.stop();
    await runtime.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", () => void stop());
}
