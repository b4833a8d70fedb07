/**
 * The worker's own Prometheus endpoint (`warren worker start --metrics-addr host:port`): per-task
 * CPU and memory from containerd, sampled at scrape time, plus the worker process's own RSS and
 * whether its manager session and tunnel are up. A worker behind NAT is scraped by something on
 * its own network; nothing here goes through the managers.
 *
 * ```
 *  GET /metrics ─▶ worker.metrics() (Tasks/Metrics per running task) ─▶ text format 0.0.4
 *  GET /healthz ─▶ 200 "ok"
 * ```
 * @module
 */
import { Counter, Gauge, Registry } from "../net/http/metrics.ts";
import { ValidationError } from "../proto/errors.ts";
import { splitHostPort } from "../proto/schema/common.ts";
import type { TaskMetrics, Worker, WorkerTask } from "./worker.ts";

/** Connection state shown on the endpoint (the agent and tunnel of a worker node). */
export interface WorkerLinks {
  managerConnected(): boolean;
  tunnelConnected(): boolean;
}

/** Renders one scrape: task samples, task counts by state, process RSS and links. */
export function renderWorkerMetrics(
  samples: readonly TaskMetrics[],
  tasks: readonly WorkerTask[],
  o: { nodeId: string; rssBytes: number; links?: WorkerLinks },
): string {
  const r = new Registry();
  const cpu = r.register(
    new Counter("warren_task_cpu_seconds_total", "CPU time used by a task's container."),
  );
  const mem = r.register(
    new Gauge("warren_task_memory_bytes", "Memory in use by a task's container (cgroup usage)."),
  );
  const names = new Map(tasks.map((t) => [t.taskId, t]));
  for (const s of samples) {
    const t = names.get(s.taskId);
    const labels = {
      node: o.nodeId,
      service: s.serviceName,
      task: s.taskId,
      task_name: t?.slot !== undefined ? `${s.serviceName}.${t.slot}` : s.serviceName,
    };
    cpu.inc(labels, s.cpuNs / 1e9);
    mem.set(s.memoryBytes, labels);
  }
  const byState = new Map<string, number>();
  for (const t of tasks) byState.set(t.state, (byState.get(t.state) ?? 0) + 1);
  r.register(
    new Gauge(
      "warren_worker_tasks",
      "Tasks on this worker by observed state.",
      () => [...byState].map(([state, value]) => ({ labels: { node: o.nodeId, state }, value })),
    ),
  );
  r.register(
    new Gauge("warren_worker_rss_bytes", "Resident memory of the worker process.", () => [
      { labels: { node: o.nodeId }, value: o.rssBytes },
    ]),
  );
  if (o.links) {
    const links = o.links;
    r.register(
      new Gauge("warren_worker_manager_connected", "1 while a manager session is open.", () => [
        { labels: { node: o.nodeId }, value: links.managerConnected() ? 1 : 0 },
      ]),
    );
    r.register(
      new Gauge("warren_worker_tunnel_connected", "1 while the logs/exec tunnel is open.", () => [
        { labels: { node: o.nodeId }, value: links.tunnelConnected() ? 1 : 0 },
      ]),
    );
  }
  return r.render();
}

/** A running metrics endpoint. */
export interface WorkerMetricsServer extends AsyncDisposable {
  /** The bound port (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `/metrics` and `/healthz` for `worker` on `address` (`host:port`, port 0 picks one). */
export function serveWorkerMetrics(
  o: { worker: Worker; address: string; links?: WorkerLinks },
): WorkerMetricsServer {
  // Port 0 is allowed here (tests, or "pick one"), unlike in manager addresses.
  const hp = splitHostPort(o.address.replace(/:0$/, ":1"));
  if (!hp) throw new ValidationError("--metrics-addr", `"${o.address}" must be host:port`);
  if (o.address.endsWith(":0")) hp.port = 0;
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: hp.host, port: hp.port, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/healthz") return new Response("ok\n");
      if (path !== "/metrics") return new Response("not found\n", { status: 404 });
      const text = renderWorkerMetrics(await o.worker.metrics(), o.worker.tasks(), {
        nodeId: o.worker.nodeId,
        rssBytes: Deno.memoryUsage().rss,
        ...(o.links ? { links: o.links } : {}),
      });
      return new Response(text, { headers: { "content-type": "text/plain; version=0.0.4" } });
    },
  );
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      ac.abort();
      await server.finished;
    })();
  return { port: server.addr.port, close, [Symbol.asyncDispose]: close };
}
