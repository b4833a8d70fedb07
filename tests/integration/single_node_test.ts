/**
 * README's run command: `warren cluster init` as a real process gives a working single-node
 * cluster (manager + worker + its own supervised containerd), and a service of the test HTTP
 * image created with the CLI serves its page.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cli,
  daemonFlags,
  freePort,
  kill,
  managerProc,
  startDaemon,
  until,
} from "./_cluster_procs.ts";
import { buildHttpServerImage, pushImage } from "../fixtures/image.ts";
import { startRegistry } from "../fixtures/registry.ts";
import { readIdentity } from "../../manager/identity.ts";
import { cleanupNodeNetworking } from "../../worker/network_hooks.ts";

Deno.test("single node: cluster init runs a service of a real image end to end", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-single-" });
  const env = { WARREN_CONFIG: join(dir, "cli", "config.json"), NO_COLOR: "1" };
  await using registry = await startRegistry();
  const { reference } = await pushImage(
    registry,
    "warren/http",
    "v1",
    await buildHttpServerImage({ version: "v1" }),
  );
  const m = managerProc("m1", dir);
  // Address ranges of this run only, so the host's routes never meet another cluster's.
  const octet = 100 + Math.floor(Math.random() * 90);
  const cidrs = [
    "--cluster-cidr",
    `10.${octet}.0.0/16`,
    "--service-cidr",
    `10.${octet + 50}.0.0/16`,
  ];
  const metricsPort = freePort();
  try {
    await startDaemon(
      m,
      env,
      [
        "cluster",
        "init",
        ...daemonFlags(m),
        ...cidrs,
        "--metrics-addr",
        `127.0.0.1:${metricsPort}`,
      ],
      /cluster \S+ running/,
      60_000,
    );
    const port = freePort();
    const created = await cli(env, [
      "service",
      "create",
      "web",
      "--image",
      reference,
      "--env",
      `PORT=${port}`,
      "--health-http",
      `/health:${port}`,
      "--health-interval",
      "1s",
    ]);
    assert.equal(created.code, 0, created.stderr);
    // The task runs in its own network namespace on the node's bridge: reach it by its IP.
    let ip = "";
    await until(
      async () => {
        const t = JSON.parse((await cli(env, ["service", "ps", "web", "-o", "json"])).stdout);
        ip = t[0]?.status?.ip ?? "";
        return t[0]?.status?.state === "running" && ip !== "";
      },
      "the task to run with an IP",
      60_000,
    );
    await until(
      async () => {
        const r = await fetch(`http://${ip}:${port}/`);
        return (await r.text()).includes("warren-test-http version=v1");
      },
      "the service's page",
      30_000,
    );
    await until(
      async () => {
        const t = JSON.parse((await cli(env, ["service", "ps", "web", "-o", "json"])).stdout);
        return t[0].status.health === "healthy";
      },
      "the health check to pass",
      30_000,
    );
    // The co-located worker serves its per-task metrics where --metrics-addr says.
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
    assert.match(metrics, /^warren_task_memory_bytes\{[^}]*service="web"[^}]*\} [1-9]/m);
    // ... and the co-located manager's /metrics shows them as well.
    const managerMetrics = await fetch(`http://${m.http}/metrics`).then((r) => r.text());
    assert.match(managerMetrics, /^warren_raft_is_leader 1$/m);
    assert.match(managerMetrics, /^warren_task_memory_bytes\{[^}]*service="web"[^}]*\} [1-9]/m);
    // A restart of the daemon re-adopts the running container with its network: same task, same
    // address, still serving (containers are left running by a stop without --drain-on-exit).
    const before = JSON.parse((await cli(env, ["service", "ps", "web", "-o", "json"])).stdout)[0];
    await kill(m, "SIGTERM");
    const page = await fetch(`http://${ip}:${port}/`).then((r) => r.text());
    assert.ok(
      page.includes("warren-test-http"),
      "the container kept serving while the daemon was down",
    );
    await startDaemon(
      m,
      env,
      ["cluster", "init", ...daemonFlags(m), ...cidrs],
      /cluster \S+ running/,
      60_000,
    );
    await until(
      async () => {
        const t = JSON.parse((await cli(env, ["service", "ps", "web", "-o", "json"])).stdout);
        return t.length === 1 && t[0].id === before.id && t[0].status.state === "running";
      },
      "the same task to be running after the restart",
      60_000,
    );
    assert.ok(
      (await fetch(`http://${ip}:${port}/`).then((r) => r.text())).includes("warren-test-http"),
    );
    // Removing the service stops its container.
    assert.equal((await cli(env, ["service", "rm", "web"])).code, 0);
    await until(
      async () => {
        try {
          await (await fetch(`http://${ip}:${port}/`, { signal: AbortSignal.timeout(1000) })).body
            ?.cancel();
          return false;
        } catch {
          return true;
        }
      },
      "the container to stop",
      30_000,
    );
  } finally {
    await kill(m, "SIGTERM");
    // The node's data plane, if a failure left tasks attached (a clean run leaves nothing).
    const id = await readIdentity(m.dataDir).catch(() => undefined);
    if (id) await cleanupNodeNetworking({ nodeId: id.nodeId, dataDir: m.dataDir }).catch(() => {});
    // Anything the daemon left (its containerd, shims) is found by the data dir in its command line.
    await new Deno.Command("pkill", { args: ["-9", "-f", dir] }).output();
    await new Deno.Command("sh", {
      args: [
        "-c",
        `grep ' ${dir}' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l`,
      ],
    }).output();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
