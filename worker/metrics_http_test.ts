import assert from "node:assert/strict";
import { renderWorkerMetrics } from "./metrics_http.ts";

Deno.test("worker metrics: per-task CPU and memory, tasks by state, RSS and links", () => {
  const text = renderWorkerMetrics(
    [
      {
        taskId: "t1",
        serviceId: "s1",
        serviceName: "web",
        cpuNs: 2_500_000_000,
        memoryBytes: 4096,
      },
      { taskId: "t2", serviceId: "s2", serviceName: "agent", cpuNs: 0, memoryBytes: 1 },
    ],
    [
      {
        taskId: "t1",
        serviceId: "s1",
        serviceName: "web",
        slot: 3,
        state: "running",
        desiredState: "running",
        health: "none",
        message: "",
        localRestarts: 0,
      },
      {
        taskId: "t2",
        serviceId: "s2",
        serviceName: "agent",
        state: "running",
        desiredState: "running",
        health: "none",
        message: "",
        localRestarts: 0,
      },
    ],
    {
      nodeId: "n1",
      rssBytes: 123,
      links: { managerConnected: () => true, tunnelConnected: () => false },
    },
  );
  const lines = text.split("\n");
  assert.ok(lines.includes("# TYPE warren_task_cpu_seconds_total counter"));
  assert.ok(
    lines.includes(
      'warren_task_cpu_seconds_total{node="n1",service="web",task="t1",task_name="web.3"} 2.5',
    ),
    text,
  );
  assert.ok(
    lines.includes(
      'warren_task_memory_bytes{node="n1",service="agent",task="t2",task_name="agent"} 1',
    ),
  );
  assert.ok(lines.includes('warren_worker_tasks{node="n1",state="running"} 2'));
  assert.ok(lines.includes('warren_worker_rss_bytes{node="n1"} 123'));
  assert.ok(lines.includes('warren_worker_manager_connected{node="n1"} 1'));
  assert.ok(lines.includes('warren_worker_tunnel_connected{node="n1"} 0'));
});
