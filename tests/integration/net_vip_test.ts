/**
 * Service VIPs on a real node (inside a netns node host): a VIP balances across three task
 * namespaces, a task reaches its own service (hairpin), removing a task IP takes effect at once
 * while a loop of connections keeps succeeding and an established connection survives, the nft
 * backend balances too, a service without declared ports answers on any port of its VIP (both
 * backends), and closing leaves no chain, jump, link, netns or lease behind.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { TaskNetworks } from "../../net/cni/task_network.ts";
import { ServiceProxy } from "../../net/vip/service_proxy.ts";
import type { ServiceEndpoint } from "../../proto/schema/mod.ts";
import {
  inNetns,
  nodeHostEnv,
  randomSuffix,
  registerOuterRun,
  snapshot,
  startResponder,
  tcpRead,
} from "./net_fixture.ts";

const env = nodeHostEnv();

function endpoint(vip: string, taskIps: string[]): ServiceEndpoint {
  return {
    serviceId: "svc-web",
    name: "web",
    vip,
    endpointMode: "vip",
    ports: [
      { protocol: "tcp", target: 80, publishMode: "ingress" },
      { protocol: "tcp", target: 81, publishMode: "ingress" },
    ],
    taskIps,
  };
}

/**
 * A connection to ip:port is refused well before a timeout would end it: from this process, or
 * from a task's namespace (busybox nc).
 */
async function assertRefused(ip: string, port: number, fromNetns?: string): Promise<void> {
  if (fromNetns) {
    const r = await inNetns(fromNetns, ["busybox", "nc", "-w", "2", ip, String(port)]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /refused/i);
    return;
  }
  const t0 = performance.now();
  await assert.rejects(
    Deno.connect({ hostname: ip, port, signal: AbortSignal.timeout(5_000) }),
    Deno.errors.ConnectionRefused,
  );
  assert.ok(performance.now() - t0 < 2_000, `refused after ${performance.now() - t0} ms`);
}

/** Three tasks, each answering its name on :80 and "name + echo" on :81. */
async function threeTasks(nets: TaskNetworks, stack: AsyncDisposableStack) {
  const tasks = [];
  for (const name of ["t1", "t2", "t3"]) {
    const t = await nets.createTaskNetwork(`web.${name}`);
    stack.use(await startResponder(t.netnsName, 80, name));
    stack.use(
      await startResponder(t.netnsName, 81, name, [
        "busybox",
        "sh",
        "-c",
        `echo ${name}; exec busybox cat`,
      ]),
    );
    tasks.push({ name, ...t });
  }
  return tasks;
}

const UDP_RESPONDER = new URL("./_udp_responder.ts", import.meta.url).pathname;

/** A UDP responder (see _udp_responder.ts) in `netns`, answering `reply`. */
async function startUdpResponder(netns: string, port: number, reply: string) {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", netns, Deno.execPath(), "run", "-A", UDP_RESPONDER, reply, `${port}`],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  for (let out = ""; !out.includes("ready");) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`UDP responder ${reply} exited before it was ready`);
    out += value;
  }
  return {
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel().catch(() => {});
    },
  };
}

/** A UDP client socket on one fixed source port: `ask` sends and returns the reply. */
async function udpClient() {
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "0.0.0.0", r));
  const ask = (ip: string, port: number) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        sock.off("message", onMessage);
        reject(new Error(`no UDP answer from ${ip}:${port} in 2 s`));
      }, 2_000);
      const onMessage = (msg: Uint8Array) => {
        clearTimeout(timer);
        sock.off("message", onMessage);
        resolve(new TextDecoder().decode(msg));
      };
      sock.on("message", onMessage);
      sock.send("who?", port, ip);
    });
  return { ask, [Symbol.dispose]: () => sock.close() };
}

if (env) {
  Deno.test("VIP: balances over 3 tasks, hairpin, removal within 2 s, conntrack, cleanup", async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "warren-net-vip-" });
    const before = await snapshot(`${dataDir}/cni/ipam`);
    const nodeId = `node-${randomSuffix()}`;
    const opts = { nodeId, subnet: "10.240.9.0/24", clusterCidr: "10.240.0.0/16", dataDir };
    const nets = await TaskNetworks.open(opts);
    const proxy = await ServiceProxy.open(opts);
    try {
      await using stack = new AsyncDisposableStack();
      const tasks = await threeTasks(nets, stack);
      const vip = "10.96.0.10";
      await proxy.syncServices([endpoint(vip, tasks.map((t) => t.ip))]);

      // From the node itself (nat OUTPUT).
      const counts = new Map<string, number>();
      for (let i = 0; i < 60; i++) {
        const who = await tcpRead(vip, 80);
        counts.set(who, (counts.get(who) ?? 0) + 1);
      }
      assert.deepEqual([...counts.keys()].sort(), ["t1", "t2", "t3"]);
      for (const [who, n] of counts) assert.ok(n >= 5, `${who} got only ${n} of 60`);

      // From a task (nat PREROUTING), including connections that land on itself (hairpin);
      // 30 tries miss t1 with probability (2/3)^30 ≈ 5e-6.
      const seen = new Set<string>();
      for (let i = 0; i < 30; i++) {
        const r = await inNetns(tasks[0]!.netnsName, ["busybox", "nc", "-w", "2", vip, "80"]);
        assert.equal(r.code, 0, r.stderr);
        seen.add(r.stdout.trim());
      }
      assert.ok(seen.has("t1"), `t1 reached itself through the VIP: ${[...seen]}`);
      assert.ok(seen.size >= 2, [...seen].join());

      // An established connection, then t3's IP leaves the endpoints while a loop connects.
      const conn = await Deno.connect({ hostname: vip, port: 81 });
      const reader = conn.readable.getReader();
      const first = new TextDecoder().decode((await reader.read()).value).trim();
      const writer = conn.writable.getWriter();
      const gone = tasks.find((t) => t.name !== first)!;
      let stop = false;
      const results: { at: number; who: string }[] = [];
      const loop = (async () => {
        while (!stop) results.push({ at: performance.now(), who: await tcpRead(vip, 80) });
      })();
      await new Promise((r) => setTimeout(r, 200));
      const t0 = performance.now();
      await proxy.syncServices([endpoint(vip, tasks.filter((t) => t !== gone).map((t) => t.ip))]);
      const applied = performance.now();
      await new Promise((r) => setTimeout(r, 500));
      stop = true;
      await loop;
      assert.ok(applied - t0 < 2_000, `applied in ${applied - t0} ms`);
      const late = results.filter((r) => r.at > applied);
      assert.ok(late.length >= 5, `${late.length} connections after the change`);
      assert.ok(!late.some((r) => r.who === gone.name), `no connection reaches ${gone.name}`);
      assert.ok(results.every((r) => ["t1", "t2", "t3"].includes(r.who)), "every one answered");

      await writer.write(new TextEncoder().encode("still here\n"));
      const echo = new TextDecoder().decode((await reader.read()).value).trim();
      assert.equal(echo, "still here", "the established connection survives");
      conn.close();

      // Scaled to zero: the VIP refuses at once instead of timing out.
      await proxy.syncServices([endpoint(vip, [])]);
      await assertRefused(vip, 80);
      await assertRefused(vip, 80, tasks[0]!.netnsName);

      // dnsrr: no VIP rules at all.
      await proxy.syncServices([{ ...endpoint(vip, [tasks[0]!.ip]), endpointMode: "dnsrr" }]);
      assert.equal(proxy.plan.length, 0);
    } finally {
      await proxy.close();
      await nets.close();
    }
    assert.deepEqual(await snapshot(`${dataDir}/cni/ipam`), before);
    await Deno.remove(dataDir, { recursive: true });
  });

  Deno.test("VIP over UDP: a task that leaves stops getting a client's datagrams at once", async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "warren-net-vip-" });
    const before = await snapshot(`${dataDir}/cni/ipam`);
    const nodeId = `node-${randomSuffix()}`;
    const opts = { nodeId, subnet: "10.240.11.0/24", clusterCidr: "10.240.0.0/16", dataDir };
    const nets = await TaskNetworks.open(opts);
    const proxy = await ServiceProxy.open(opts);
    const udp = (vip: string, taskIps: string[]): ServiceEndpoint => ({
      ...endpoint(vip, taskIps),
      ports: [{ protocol: "udp", target: 53, publishMode: "ingress" }],
    });
    try {
      await using stack = new AsyncDisposableStack();
      const tasks = [];
      for (const name of ["u1", "u2"]) {
        const t = await nets.createTaskNetwork(`dns.${name}`);
        stack.use(await startUdpResponder(t.netnsName, 53, name));
        tasks.push({ name, ...t });
      }
      const vip = "10.96.0.30";
      await proxy.syncServices([udp(vip, tasks.map((t) => t.ip))]);
      using client = await udpClient();
      // One source port: conntrack keeps the flow on the task it picked first.
      const first = await client.ask(vip, 53);
      for (let i = 0; i < 5; i++) assert.equal(await client.ask(vip, 53), first);
      // That task leaves (it still runs, so a stale flow would still get its answer).
      await proxy.syncServices([udp(vip, tasks.filter((t) => t.name !== first).map((t) => t.ip))]);
      const other = tasks.find((t) => t.name !== first)!.name;
      for (let i = 0; i < 5; i++) assert.equal(await client.ask(vip, 53), other);
    } finally {
      await proxy.close();
      await nets.close();
    }
    assert.deepEqual(await snapshot(`${dataDir}/cni/ipam`), before);
    await Deno.remove(dataDir, { recursive: true });
  });

  Deno.test("VIP with the nft backend: balances, and closing deletes its table", async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "warren-net-vip-" });
    const before = await snapshot(`${dataDir}/cni/ipam`);
    const nodeId = `node-${randomSuffix()}`;
    const opts = { nodeId, subnet: "10.240.10.0/24", clusterCidr: "10.240.0.0/16", dataDir };
    const nets = await TaskNetworks.open({ ...opts, backend: "iptables" });
    const proxy = await ServiceProxy.open({ ...opts, backend: "nft" });
    try {
      await using stack = new AsyncDisposableStack();
      const tasks = await threeTasks(nets, stack);
      await proxy.syncServices([endpoint("10.96.0.20", tasks.map((t) => t.ip))]);
      const seen = new Set<string>();
      for (let i = 0; i < 40; i++) seen.add(await tcpRead("10.96.0.20", 80));
      assert.deepEqual([...seen].sort(), ["t1", "t2", "t3"]);
      // Hairpin through nft: t1 reaches its own service.
      const fromT1 = new Set<string>();
      for (let i = 0; i < 30; i++) {
        const r = await inNetns(tasks[0]!.netnsName, [
          "busybox",
          "nc",
          "-w",
          "2",
          "10.96.0.20",
          "80",
        ]);
        assert.equal(r.code, 0, r.stderr);
        fromT1.add(r.stdout.trim());
      }
      assert.ok(fromT1.has("t1"), [...fromT1].join());
      await proxy.syncServices([endpoint("10.96.0.20", [tasks[1]!.ip])]);
      for (let i = 0; i < 10; i++) assert.equal(await tcpRead("10.96.0.20", 80), "t2");
      await proxy.syncServices([endpoint("10.96.0.20", [])]);
      await assertRefused("10.96.0.20", 80);
      await assertRefused("10.96.0.20", 80, tasks[0]!.netnsName);
    } finally {
      await proxy.close();
      await nets.close();
    }
    assert.deepEqual(await snapshot(`${dataDir}/cni/ipam`), before);
    await Deno.remove(dataDir, { recursive: true });
  });

  // Swarm's VIP forwards every port (IPVS with a firewall mark): web reaches db:5432 without
  // the db service declaring 5432. Same here, on both backends.
  for (const [backend, third] of [["iptables", 14], ["nft", 15]] as const) {
    Deno.test(`VIP without declared ports (${backend}): any tcp and udp port reaches the tasks; no task: refused`, async () => {
      const dataDir = await Deno.makeTempDir({ prefix: "warren-net-vip-" });
      const before = await snapshot(`${dataDir}/cni/ipam`);
      const nodeId = `node-${randomSuffix()}`;
      const opts = {
        nodeId,
        subnet: `10.240.${third}.0/24`,
        clusterCidr: "10.240.0.0/16",
        dataDir,
      };
      const nets = await TaskNetworks.open({ ...opts, backend: "iptables" });
      const proxy = await ServiceProxy.open({ ...opts, backend });
      const vip = `10.96.0.${third + 26}`;
      const db = (taskIps: string[]): ServiceEndpoint => ({
        serviceId: "svc-db",
        name: "db",
        vip,
        endpointMode: "vip",
        ports: [],
        taskIps,
      });
      try {
        await using stack = new AsyncDisposableStack();
        const tasks = [];
        for (const name of ["d1", "d2"]) {
          const t = await nets.createTaskNetwork(`db.${name}`);
          stack.use(await startResponder(t.netnsName, 8081, name));
          stack.use(await startUdpResponder(t.netnsName, 5300, name));
          tasks.push({ name, ...t });
        }
        await proxy.syncServices([db(tasks.map((t) => t.ip))]);

        // From the node (nat OUTPUT): VIP:8081 lands on the tasks' :8081, balanced.
        const seen = new Set<string>();
        for (let i = 0; i < 30; i++) seen.add(await tcpRead(vip, 8081));
        assert.deepEqual([...seen].sort(), ["d1", "d2"]);
        // From a task (nat PREROUTING, and hairpin when it lands on itself).
        const fromTask = new Set<string>();
        for (let i = 0; i < 30; i++) {
          const r = await inNetns(tasks[1]!.netnsName, ["busybox", "nc", "-w", "2", vip, "8081"]);
          assert.equal(r.code, 0, r.stderr);
          fromTask.add(r.stdout.trim());
        }
        assert.deepEqual([...fromTask].sort(), ["d1", "d2"]);
        // UDP on an undeclared port too.
        using client = await udpClient();
        assert.ok(["d1", "d2"].includes(await client.ask(vip, 5300)));

        // No task: refused at once, on any port, instead of timing out.
        await proxy.syncServices([db([])]);
        await assertRefused(vip, 8081);
        await assertRefused(vip, 8081, tasks[0]!.netnsName);
      } finally {
        await proxy.close();
        await nets.close();
      }
      assert.deepEqual(await snapshot(`${dataDir}/cni/ipam`), before);
      await Deno.remove(dataDir, { recursive: true });
    });
  }
} else {
  registerOuterRun(import.meta.url, "net: service VIPs");
}
