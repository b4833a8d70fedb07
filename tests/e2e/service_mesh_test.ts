/**
 * Issue 8: Warren's service networking across three hosts (network namespaces on one machine),
 * each running a real `warren` (init on host 1, `warren join` with a worker token on 2 and 3),
 * linked by the WireGuard mesh, pulling the test HTTP image from a real registry:
 *
 * - a 3-replica service spread over the hosts answers `http://web/` by name from a container on
 *   host 1 with pages of all three replicas (VIP balancing), and `tasks.web` resolves to the three
 *   task IPs; task interfaces have the mesh MTU (1420);
 * - during a scale-down, none of 200 requests through the VIP fails, every host drops the task
 *   from the VIP within 2 s and before its container dies (the worker drains before stopping);
 * - the published port (`--publish 8080:80`, routing mesh) answers on the host that runs no
 *   replica, from outside, from another host and from the host itself, at its own address and
 *   at 127.0.0.1 (a userspace relay: see net/node/README.md);
 * - a killed task leaves the VIP of every host within 2 s;
 * - removing the services and stopping the daemons leaves no link, route, iptables/nft rule or
 *   namespace on any host.
 *
 * Needs root, iproute2, iptables, nftables, wireguard-tools, wireguard-go, containerd, runc,
 * Debian's docker-registry and busybox-static (`deno task setup`).
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import type { NetnsHost } from "../fixtures/netns.ts";
import { nodeNames } from "../../net/host/names.ts";
import { startWarrenCluster, type WarrenCluster, type WarrenNode } from "./_warren_hosts.ts";
import { parseProbeOutput, type ProbeResult } from "./_http_probe.ts";
import { spawnProbe } from "./_task_shell.ts";
import { httpImageOnHosts } from "./_http_image_hosts.ts";
import {
  type HostSnapshot,
  leftovers,
  processesInNetns,
  processGone,
  snapshotHost,
  taskNamespaces,
} from "./_host_snapshot.ts";
import { pollUntil } from "./_e2e_util.ts";

interface NodeJson {
  id: string;
  addresses: { advertise: string };
  status: { state: string };
  wireguard?: { subnet: string };
}

interface TaskJson {
  id: string;
  slot?: number;
  nodeId?: string;
  desiredState: string;
  status: { state: string; ip?: string };
}

const PUBLISHED = 8080;
const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;

async function runningTasks(warren: WarrenCluster, service: string): Promise<TaskJson[]> {
  const all = JSON.parse(await warren.mustCli(["service", "ps", service, "-o", "json"]));
  return (all as TaskJson[]).filter((t) =>
    t.status.state === "running" && t.desiredState === "running" && t.status.ip
  );
}

/** Runs a shell script in a task's container (`warren service exec`); returns stdout. */
function execIn(warren: WarrenCluster, task: string, script: string): Promise<string> {
  return warren.mustCli(["service", "exec", task, "--", "sh", "-c", script]);
}

/** The task IPs behind service `name`'s VIP in `host`'s nat table. */
async function vipBackends(host: NetnsHost, name: string): Promise<string[]> {
  const r = await host.run(["iptables-save", "-t", "nat"]);
  const re = new RegExp(`--comment "?${name}:80/tcp"? .*-j DNAT --to-destination ([0-9.]+):80`);
  return r.stdout.split("\n").flatMap((l) => re.exec(l)?.[1] ?? []).sort();
}

/**
 * ms from `since` until service `name`'s VIP backends satisfy `done`, per host (polled every
 * 20 ms); throws after `timeoutMs`.
 */
function msUntilEveryHost(
  hosts: NetnsHost[],
  name: string,
  done: (backends: string[]) => boolean,
  o: { since: number; timeoutMs: number },
): Promise<number[]> {
  return Promise.all(hosts.map(async (h) => {
    let last: string[] = [];
    while (Date.now() - o.since < o.timeoutMs) {
      last = await vipBackends(h, name);
      if (done(last)) return Date.now() - o.since;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`${name}'s VIP on ${h.name} still has ${last} after ${o.timeoutMs} ms`);
  }));
}

/** ms from `since` until every process in `pids` is dead (polled every 5 ms); -1 on `stop`. */
async function msUntilDead(pids: number[], since: number, stop: AbortSignal): Promise<number> {
  while (!stop.aborted) {
    if ((await Promise.all(pids.map(processGone))).every(Boolean)) return Date.now() - since;
    await new Promise((r) => setTimeout(r, 5));
  }
  return -1;
}

/** `GET /` with busybox nc from `host` (busybox wget segfaults on this machine). */
async function httpGetVia(host: NetnsHost, address: string, port: number): Promise<string> {
  const r = await host.run([
    "sh",
    "-c",
    `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 ${address} ${port}`,
  ]);
  return r.stdout + r.stderr;
}

const hostsOf = (pages: string) => new Set([...pages.matchAll(/host=(\S+)/g)].map((m) => m[1]!));

Deno.test("e2e: a service across three hosts: VIP, DNS, routing mesh, drain, clean teardown", async (t) => {
  await using hosts = await httpImageOnHosts(3);
  const { netns, reference } = hosts;
  const baseline: HostSnapshot[] = await Promise.all(netns.hosts.map(snapshotHost));
  await using warren = await startWarrenCluster(netns);
  const [hostA] = netns.hosts;
  const nodeOf = new Map<string, string>(); // node ID → host name
  let nodeA = "";
  let web: TaskJson[] = [];
  let clientTask: TaskJson | undefined;
  const client = () => ({
    node: warren.nodes.find((n) => n.nodeId === clientTask!.nodeId)!,
    taskId: clientTask!.id,
  });
  const probe = async (
    where: { node: WarrenNode; taskId: string },
    o: { url: string; count: number },
  ): Promise<ProbeResult[]> => {
    const out = await spawnProbe(where.node, where.taskId, o).output();
    const text = new TextDecoder().decode(out.stdout);
    equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return parseProbeOutput(text);
  };

  await t.step("the cluster forms with the mesh up", async () => {
    const nodes = await pollUntil(
      async () => {
        const list = JSON.parse(await warren.mustCli(["node", "ls", "-o", "json"])) as NodeJson[];
        const up = list.filter((n) => n.status.state === "ready" && n.wireguard);
        return up.length === 3 ? list : undefined;
      },
      30_000,
      "three ready nodes with WireGuard",
    );
    for (const n of nodes) {
      const h = netns.hosts.find((h) => h.address === n.addresses.advertise)!;
      nodeOf.set(n.id, h.name);
      if (h === hostA) nodeA = n.id;
    }
    deepEqual(warren.nodes.map((n) => n.nodeId).sort(), [...nodeOf.keys()].sort());
  });

  await t.step("three replicas spread over the hosts; a client on host 1", async () => {
    await warren.mustCli([
      "service",
      "create",
      "web",
      "--image",
      reference,
      "--replicas",
      "3",
      "--max-replicas-per-node",
      "1",
      "--publish",
      `${PUBLISHED}:80`,
      // The container dies at once on stop: a stop racing the VIP update would show.
      "--stop-signal",
      "SIGKILL",
    ]);
    await warren.mustCli([
      "service",
      "create",
      "client",
      "--image",
      reference,
      "--constraint",
      `node.id==${nodeA}`,
      "--stop-signal",
      "SIGKILL",
    ]);
    web = await pollUntil(
      async () => {
        const w = await runningTasks(warren, "web");
        const c = await runningTasks(warren, "client");
        clientTask = c[0];
        return w.length === 3 && c.length === 1 ? w : undefined;
      },
      60_000,
      "web ×3 and client running",
    ).catch(async (err) => {
      const ps = await warren.cli(["service", "ps", "web", "-o", "json"]);
      throw new Error(`${err.message}\n${ps.stdout}${ps.stderr}`);
    });
    equal(new Set(web.map((t) => t.nodeId)).size, 3, "one replica per host");
    // Every host's VIP knows the three tasks.
    await pollUntil(
      async () => {
        for (const h of netns.hosts) {
          const b = await vipBackends(h, "web");
          if (b.length !== 3) return undefined;
        }
        return true;
      },
      5_000,
      "three VIP backends on every host",
    );
  });

  await t.step("`http://web/` from host 1's client task reaches all three replicas", async () => {
    const results = await probe(client(), { url: "http://web/", count: 30 });
    deepEqual(results.filter((r) => !r.ok), [], "failed requests");
    deepEqual([...new Set(results.map((r) => r.host))].sort(), ["web.1", "web.2", "web.3"]);
  });

  await t.step(
    "in the container, `tasks.web` gives the three task IPs, `web` the VIP",
    async () => {
      const resolver = (await execIn(warren, "client.1", "cat /etc/resolv.conf"))
        .match(/^nameserver\s+(\S+)/m)?.[1];
      const lookup = async (name: string) => {
        const out = await execIn(warren, "client.1", `nslookup ${name}`);
        return [...out.matchAll(/^Address:\s+([0-9.]+)$/gm)].map((m) => m[1]!)
          .filter((ip) => ip !== resolver).sort();
      };
      deepEqual(await lookup("tasks.web"), web.map((t) => t.status.ip!).sort());
      const vip = await lookup("web");
      equal(vip.length, 1);
      ok(!web.some((t) => t.status.ip === vip[0]), `VIP ${vip[0]} is no task's IP`);
    },
  );

  await t.step("task interfaces have the mesh MTU", async () => {
    equal((await execIn(warren, "client.1", "cat /sys/class/net/eth0/mtu")).trim(), "1420");
  });

  let idle: NetnsHost | undefined;
  await t.step("scale-down: no request fails, the task leaves every VIP within 2 s", async () => {
    // 200 requests over 4-6 s; the scale-down lands after the first 20.
    const loop = spawnProbe(client().node, client().taskId, {
      url: "http://web/",
      count: 200,
      intervalMs: 20,
    });
    const out: string[] = [];
    const reading = (async () => {
      for await (const c of loop.stdout.pipeThrough(new TextDecoderStream())) out.push(c);
    })();
    const errText = new Response(loop.stderr).text();
    await pollUntil(
      () => Promise.resolve(parseProbeOutput(out.join("")).length >= 20 || undefined),
      30_000,
      "the request loop to start",
    );
    const before = new Set(web.map((t) => t.status.ip!));
    // Each replica's processes, to tell when the scaled-down one's container died.
    const containers = await Promise.all(web.map(async (t) => ({
      ip: t.status.ip!,
      pids: await processesInNetns(`/run/netns/${nodeNames(t.nodeId!).netnsPrefix}${t.id}`),
    })));
    const stopWatching = new AbortController();
    const t0 = Date.now();
    const deaths = containers.map((c) => msUntilDead(c.pids, t0, stopWatching.signal));
    await warren.mustCli(["service", "scale", "web=2"]);
    // Timed from the command's return: the change is committed then.
    const since = Date.now();
    const removal = msUntilEveryHost(netns.hosts, "web", (b) => b.length === 2, {
      since,
      timeoutMs: 10_000,
    });
    const scaledAt = parseProbeOutput(out.join("")).length;
    const status = await loop.status;
    await reading;
    equal(status.code, 0, await errText);
    const results = parseProbeOutput(out.join(""));
    equal(results.length, 200);
    ok(scaledAt < 200, `the scale-down happened during the loop (after ${scaledAt} requests)`);
    deepEqual(results.filter((r) => !r.ok), [], "requests failed during the scale-down");
    web = await runningTasks(warren, "web");
    equal(web.length, 2);
    const perHost = await removal;
    const ms = Math.max(...perHost);
    const gone = [...before].filter((ip) => !web.some((t) => t.status.ip === ip));
    equal(gone.length, 1);
    const died = await deaths[containers.findIndex((c) => c.ip === gone[0])]!;
    stopWatching.abort();
    await Promise.all(deaths);
    // Both on the clock of the scale command's return.
    const diedMs = died - (since - t0);
    console.log(
      `    out of the VIP on each host after ${perHost} ms; container died at ${diedMs} ms`,
    );
    ok(ms <= 2_000, `the scaled-down task left the VIPs after ${ms} ms`);
    ok(died >= 0, "the scaled-down task's container stopped");
    ok(ms < diedMs, `every host dropped the task (${perHost} ms) before it died (${diedMs} ms)`);
    for (const h of netns.hosts) ok(!(await vipBackends(h, "web")).includes(gone[0]!), h.name);
    idle = netns.hosts.find((h) => !web.some((t) => nodeOf.get(t.nodeId!) === h.name));
    ok(idle, "a host without a web replica");
  });

  await t.step("the published port answers on the host that runs no replica", async () => {
    const url = `http://${idle!.address}:${PUBLISHED}/`;
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
      for (const h of hostsOf(await res.text())) seen.add(h);
    }
    deepEqual(
      [...seen].sort(),
      web.map((t) => `web.${t.slot}`).sort(),
      "pages of both remaining replicas",
    );
    // From another host, and from a process on the idle host itself (OUTPUT path), also at
    // 127.0.0.1 (the loopback relay).
    const other = netns.hosts.find((h) => h !== idle)!;
    const clients = [[other, idle!.address], [idle!, idle!.address], [idle!, "127.0.0.1"]] as const;
    for (const [from, addr] of clients) {
      const page = await httpGetVia(from, addr, PUBLISHED);
      ok(page.includes("warren-test-http"), `${from.name} → ${addr}:${PUBLISHED}: ${page}`);
    }
  });

  await t.step("a killed task leaves every VIP within 2 s", async () => {
    const victim = web[0]!;
    const node = warren.nodes.find((n) => n.host.name === nodeOf.get(victim.nodeId!))!;
    const ns = `${nodeNames(victim.nodeId!).netnsPrefix}${victim.id}`;
    ok((await taskNamespaces(node.nodeId)).includes(ns), `${ns} exists`);
    const pids = await processesInNetns(`/run/netns/${ns}`);
    ok(pids.length > 0, `processes in ${ns}`);
    const since = Date.now();
    for (const pid of pids) Deno.kill(pid, "SIGKILL");
    const ms = Math.max(
      ...await msUntilEveryHost(netns.hosts, "web", (b) => !b.includes(victim.status.ip!), {
        since,
        timeoutMs: 10_000,
      }),
    );
    console.log(`    killed task out of every VIP after ${ms} ms`);
    ok(ms <= 2_000, `the killed task left the VIPs after ${ms} ms`);
  });

  await t.step("a worker that leaves stops its tasks and cleans up its host", async () => {
    // A worker with a running task (the one killed above may still be restarting).
    const [leaving, pids] = await pollUntil(
      async (): Promise<[WarrenNode, number[]] | undefined> => {
        for (const n of warren.nodes.slice(1)) {
          const found: number[] = [];
          for (const ns of await taskNamespaces(n.nodeId)) {
            found.push(...await processesInNetns(`/run/netns/${ns}`).catch(() => []));
          }
          if (found.length > 0) return [n, found];
        }
        return undefined;
      },
      20_000,
      "a worker that runs a task",
    );
    // No --manager: the worker's daemon recorded its managers in the data dir.
    const r = await leaving.host.run(
      [Deno.execPath(), "run", "-A", MAIN, "cluster", "leave", "--data-dir", leaving.dataDir],
      { env: { NO_COLOR: "1" }, timeoutMs: 120_000 },
    );
    equal(r.code, 0, `${r.stdout}${r.stderr}\n${leaving.log.join("").slice(-2000)}`);
    equal((await leaving.child.status).code, 0, "its daemon exited cleanly");
    // As 'docker swarm leave': the tasks stopped with the daemon, not left running unnetworked.
    for (const pid of pids) ok(await processGone(pid), `task process ${pid} stopped`);
    deepEqual(await taskNamespaces(leaving.nodeId), [], "its task namespaces are gone");
    const nodes: NodeJson[] = JSON.parse(await warren.mustCli(["node", "ls", "-o", "json"]));
    ok(!nodes.some((n) => n.id === leaving.nodeId), "the cluster let it go");
  });

  await t.step("removing the services and stopping leaves nothing behind", async () => {
    await warren.mustCli(["service", "rm", "web", "client"]);
    await pollUntil(
      async () => {
        for (const n of warren.nodes) {
          if ((await taskNamespaces(n.nodeId)).length > 0) return undefined;
          if ((await vipBackends(n.host, "web")).length > 0) return undefined;
        }
        return true;
      },
      20_000,
      "task namespaces and VIP rules removed",
    );
    for (const n of [...warren.nodes].reverse()) {
      const code = await warren.stopNode(n);
      equal(code, 0, `${n.host.name} exited cleanly:\n${n.log.join("").slice(-2000)}`);
    }
    for (const [i, h] of netns.hosts.entries()) {
      const left = leftovers(baseline[i]!, await snapshotHost(h));
      deepEqual(left, [], `${h.name} leftovers:\n${left.join("\n")}`);
    }
    for (const n of warren.nodes) deepEqual(await taskNamespaces(n.nodeId), [], "task netns");
  });
});
