/**
 * The `net` benchmark suite, on two network-namespace hosts (tests/fixtures/netns.ts) with a
 * FORWARD policy of DROP (as with Docker installed). Each host runs one Warren node's networking
 * as the worker daemon starts it (tests/bench/_net_node.ts: WireGuard mesh, CNI task networks,
 * VIP rules, resolver) with one task network attached; peers and a service endpoint reach the
 * nodes as an assignments message would. Traffic ends are tests/bench/_net_probe.ts processes
 * inside the task namespaces.
 *
 * - `overlay_mbps`: TCP throughput from the task on host A to the task on host B (veth, bridge,
 *   mesh: wireguard-go here, MTU 1420, and back out), one stream of zeros for a few seconds,
 *   measured at the receiver (bytes from first byte to EOF).
 * - `wireguard_raw_mbps`: the same transfer between the same two hosts over a bare wireguard-go
 *   tunnel configured by hand with `wg` (no Warren code), in the same run: the baseline.
 * - `vip_connect_ms_p99`: new TCP connections, one after another, from the task on host A to a
 *   service VIP whose two tasks are on A and B (so half cross the mesh); connect() to
 *   established, each connection then reads the answering task's name (both must answer).
 * - `dns_lookup_ms_p99`: sequential UDP A lookups of the service's name from the task on A
 *   against its node's resolver on the bridge gateway (the one in the task's resolv.conf).
 * @module
 */
import { createNetnsCluster, type NetnsHost } from "../fixtures/netns.ts";
import type { BenchContext, BenchSuite } from "./_suite.ts";
import { percentile, round } from "./_stats.ts";

const PROBE = new URL("./_net_probe.ts", import.meta.url).pathname;
const NODE = new URL("./_net_node.ts", import.meta.url).pathname;
const RAW_PORT = 51821;
const TCP_PORT = 5201;
const VIP = "10.96.0.10";
const VIP_PORT = 80;

const decoder = new TextDecoder();

/** Somewhere to run a process: a netns host or a task's namespace. */
interface Place {
  name: string;
  /** The namespace to `ip netns exec` into. */
  netns: string;
  /**
   * A process whose mount namespace to enter first: a task namespace made by a node process
   * inside a host is bound under /run/netns in that process's mount namespace only
   * (`ip netns exec` gives every process its own).
   */
  mountsOf?: number;
}

function spawnIn(place: Place, argv: string[]): Deno.ChildProcess {
  const enter = place.mountsOf ? ["nsenter", "-t", String(place.mountsOf), "-m", "--"] : [];
  const [cmd, ...args] = [...enter, "ip", "netns", "exec", place.netns, ...argv];
  return new Deno.Command(cmd!, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Reads stdout lines of `child` as they come. */
class Lines {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buffered = "";
  constructor(child: Deno.ChildProcess) {
    this.#reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }
  /** The next line, or undefined at EOF. */
  async next(): Promise<string | undefined> {
    for (;;) {
      const nl = this.#buffered.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buffered.slice(0, nl);
        this.#buffered = this.#buffered.slice(nl + 1);
        return line;
      }
      const r = await this.#reader.read();
      if (r.done) {
        const rest = this.#buffered;
        this.#buffered = "";
        return rest || undefined;
      }
      this.#buffered += r.value;
    }
  }
}

/** Keeps the last few KiB of a child's stderr for error messages (and keeps the pipe drained). */
function tailOf(child: Deno.ChildProcess): () => string {
  let tail = "";
  void (async () => {
    for await (const s of child.stderr.pipeThrough(new TextDecoderStream())) {
      tail = (tail + s).slice(-4_096);
    }
  })().catch(() => {});
  return () => tail;
}

/** Runs a probe to completion in `place`; returns its last stdout line. */
async function probe(place: Place, args: string[], timeoutMs = 120_000): Promise<string> {
  const child = spawnIn(place, [Deno.execPath(), "run", "-A", "--quiet", PROBE, ...args]);
  await child.stdin.close();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const out = await child.output();
    const stdout = decoder.decode(out.stdout).trim();
    if (!out.success) {
      throw new Error(`probe ${args.join(" ")} in ${place.name}: ${decoder.decode(out.stderr)}`);
    }
    return stdout.split("\n").at(-1) ?? "";
  } finally {
    clearTimeout(timer);
  }
}

/** A long-running probe (`recv`, `serve`) started in `place`, once it prints `listening`. */
async function listening(place: Place, args: string[]) {
  const child = spawnIn(place, [Deno.execPath(), "run", "-A", "--quiet", PROBE, ...args]);
  await child.stdin.close();
  const tail = tailOf(child);
  const lines = new Lines(child);
  const first = await lines.next();
  if (first !== "listening") {
    throw new Error(`probe ${args.join(" ")} in ${place.name} did not listen: ${tail()}`);
  }
  return {
    lines,
    child,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await child.status;
    },
  };
}

/** Receiver in `to`, sender in `from` to `address`; returns Mbit/s seen by the receiver. */
async function throughput(from: Place, to: Place, address: string, seconds: number) {
  await using recv = await listening(to, ["recv", String(TCP_PORT)]);
  await probe(from, ["send", address, String(TCP_PORT), String(seconds)], (seconds + 30) * 1000);
  const line = await recv.lines.next();
  if (!line?.startsWith("{")) throw new Error(`receiver printed no result: ${line}`);
  const { bytes, seconds: s } = JSON.parse(line) as { bytes: number; seconds: number };
  return (bytes * 8) / s / 1e6;
}

/** What a node process reports once its networking is up. */
interface NodeReady {
  wireguard: { publicKey: string; endpoint: string; subnet: string };
  ip: string;
  gateway: string;
  netns: string;
}

/** One `_net_node.ts` process in a host. */
class NodeProc {
  readonly nodeId: string;
  readonly ready: NodeReady;
  readonly #child: Deno.ChildProcess;
  readonly #lines: Lines;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #tail: () => string;

  private constructor(
    nodeId: string,
    ready: NodeReady,
    child: Deno.ChildProcess,
    lines: Lines,
    tail: () => string,
  ) {
    this.nodeId = nodeId;
    this.ready = ready;
    this.#child = child;
    this.#lines = lines;
    this.#writer = child.stdin.getWriter();
    this.#tail = tail;
  }

  static async start(host: NetnsHost, nodeId: string, subnet: string, dataDir: string) {
    const child = spawnIn(
      { name: host.name, netns: host.name },
      [Deno.execPath(), "run", "-A", "--quiet", NODE, nodeId, subnet, dataDir, host.address],
    );
    const tail = tailOf(child);
    const lines = new Lines(child);
    const line = await lines.next();
    if (!line?.startsWith("{")) {
      child.kill("SIGKILL");
      await child.status;
      throw new Error(`node ${nodeId} did not start: ${tail()}`);
    }
    return new NodeProc(nodeId, JSON.parse(line).ready as NodeReady, child, lines, tail);
  }

  /** The task's namespace, to run probes in. */
  get task(): Place {
    return { name: `task on ${this.nodeId}`, netns: this.ready.netns, mountsOf: this.#child.pid };
  }

  /** Applies an assignments message (peers, endpoints) and waits until it is in place. */
  async apply(msg: Record<string, unknown>): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify({ apply: msg }) + "\n"));
    const line = await this.#lines.next();
    if (line !== '{"applied":true}') throw new Error(`${this.nodeId}: ${line} ${this.#tail()}`);
  }

  /** Closes stdin: the node removes its task network, rules, mesh and exits. */
  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 30_000);
    const status = await this.#child.status;
    clearTimeout(timer);
    if (!status.success) throw new Error(`node ${this.nodeId} exited badly: ${this.#tail()}`);
  }
}

async function mustRun(host: NetnsHost, argv: string[]): Promise<string> {
  const r = await host.run(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} in ${host.name}: ${r.stderr}`);
  return r.stdout;
}

/** A hand-made wireguard-go tunnel: its address on b and how to take it down. */
interface RawTunnel extends AsyncDisposable {
  address: string;
}

/** A hand-made wireguard-go tunnel between a and b (10.243.0.1 ↔ 10.243.0.2), no Warren code. */
async function rawTunnel(a: NetnsHost, b: NetnsHost, tag: string): Promise<RawTunnel> {
  const children: { child: Deno.ChildProcess; name: string }[] = [];
  // SIGTERM (not the netns teardown's SIGKILL) so wireguard-go removes its control socket.
  const close = async () => {
    for (const { child, name } of children) {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
      await child.status;
      await Deno.remove(`/var/run/wireguard/${name}.sock`).catch(() => {});
    }
  };
  const keys: { priv: string; pub: string }[] = [];
  for (let i = 0; i < 2; i++) {
    const priv = decoder.decode(
      (await new Deno.Command("wg", { args: ["genkey"], stdout: "piped" }).output()).stdout,
    ).trim();
    const p = new Deno.Command("wg", { args: ["pubkey"], stdin: "piped", stdout: "piped" }).spawn();
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(priv + "\n"));
    await w.close();
    keys.push({ priv, pub: decoder.decode((await p.output()).stdout).trim() });
  }
  const dir = await Deno.makeTempDir({ prefix: "warren-bench-wg-" });
  try {
    const hosts = [a, b];
    for (const [i, h] of hosts.entries()) {
      const name = `wgr-${tag}-${i}`;
      const peer = hosts[1 - i]!;
      // Killed with everything else in the namespaces when the netns cluster is destroyed.
      const child = h.spawn(["wireguard-go", "-f", name], {
        env: { WG_PROCESS_FOREGROUND: "1" },
      });
      children.push({ child, name });
      const deadline = Date.now() + 5_000;
      while ((await h.run(["ip", "link", "show", name])).code !== 0) {
        if (Date.now() > deadline) throw new Error(`wireguard-go did not create ${name}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const keyFile = `${dir}/${i}.key`;
      await Deno.writeTextFile(keyFile, keys[i]!.priv + "\n", { mode: 0o600 });
      await mustRun(h, [
        "wg",
        "set",
        name,
        "private-key",
        keyFile,
        "listen-port",
        String(RAW_PORT),
        "peer",
        keys[1 - i]!.pub,
        "endpoint",
        `${peer.address}:${RAW_PORT}`,
        "allowed-ips",
        `10.243.0.${2 - i}/32`,
      ]);
      await mustRun(h, [
        "ip",
        "addr",
        "add",
        `10.243.0.${i + 1}/32`,
        "peer",
        `10.243.0.${2 - i}/32`,
        "dev",
        name,
      ]);
      await mustRun(h, ["ip", "link", "set", name, "mtu", "1420", "up"]);
    }
  } catch (err) {
    await close();
    throw err;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return { address: "10.243.0.2", [Symbol.asyncDispose]: close };
}

/** Both nodes up, peered, with one service whose VIP balances over their two tasks. */
async function measure(ctx: BenchContext): Promise<void> {
  const seconds = ctx.quick ? 2 : 5;
  const connects = ctx.quick ? 200 : 1_000;
  await using cluster = await createNetnsCluster({ hosts: 2, prefix: "wrnb" });
  const [a, b] = cluster.hosts as [NetnsHost, NetnsHost];
  for (const h of cluster.hosts) await mustRun(h, ["iptables", "-w", "-P", "FORWARD", "DROP"]);
  const dataDirs: string[] = [];
  const nodes: NodeProc[] = [];
  try {
    for (const [i, h] of cluster.hosts.entries()) {
      dataDirs.push(await Deno.makeTempDir({ prefix: "warren-bench-net-" }));
      nodes.push(
        await NodeProc.start(
          h,
          `bench-${cluster.runId}-${i}`,
          `10.240.${i + 1}.0/24`,
          dataDirs[i]!,
        ),
      );
    }
    const [na, nb] = nodes as [NodeProc, NodeProc];
    const msg = {
      complete: true,
      index: 1,
      peers: nodes.map((n) => ({ nodeId: n.nodeId, wireguard: n.ready.wireguard })),
      endpoints: [{
        serviceId: "svc-bench",
        name: "bench",
        vip: VIP,
        endpointMode: "vip",
        ports: [{ protocol: "tcp", target: VIP_PORT, publishMode: "ingress" }],
        taskIps: nodes.map((n) => n.ready.ip),
      }],
    };
    for (const n of nodes) await n.apply(msg);
    ctx.log(`nodes up: tasks ${na.ready.ip} (A), ${nb.ready.ip} (B); ${seconds} s per transfer`);

    await using raw_ = await rawTunnel(a, b, cluster.runId);
    const hostA: Place = { name: a.name, netns: a.name };
    const hostB: Place = { name: b.name, netns: b.name };
    // Alternate the order so drift on a shared machine hits both alike; keep the best of each.
    let overlay = 0;
    let raw = 0;
    for (let i = 0; i < 2 && !ctx.signal.aborted; i++) {
      const order = i % 2 === 0 ? ["raw", "overlay"] : ["overlay", "raw"];
      for (const which of order) {
        if (which === "raw") {
          raw = Math.max(raw, await throughput(hostA, hostB, raw_.address, seconds));
        } else {
          overlay = Math.max(overlay, await throughput(na.task, nb.task, nb.ready.ip, seconds));
        }
      }
      ctx.log(`round ${i + 1}: raw ${raw.toFixed(0)} Mbit/s, overlay ${overlay.toFixed(0)} Mbit/s`);
    }
    ctx.emit("overlay_mbps", round(overlay, 1), "Mbit/s");
    ctx.emit("wireguard_raw_mbps", round(raw, 1), "Mbit/s");

    await using _sa = await listening(na.task, ["serve", "task-a", String(VIP_PORT)]);
    await using _sb = await listening(nb.task, ["serve", "task-b", String(VIP_PORT)]);
    const vip = JSON.parse(
      await probe(na.task, ["connect", VIP, String(VIP_PORT), String(connects)]),
    ) as { ms: number[]; by: Record<string, number> };
    const by = Object.entries(vip.by).map(([k, v]) => `${k} ${v}`).join(", ");
    ctx.log(
      `vip: ${vip.ms.length} connections, p50 ${round(percentile(vip.ms, 50), 3)} ms (${by})`,
    );
    if (!vip.by["task-a"] || !vip.by["task-b"]) {
      throw new Error(`the VIP did not balance over both tasks: ${by}`);
    }
    ctx.emit("vip_connect_ms_p99", round(percentile(vip.ms, 99), 3), "ms");

    const dns = JSON.parse(
      await probe(na.task, ["dns", na.ready.gateway, "bench", String(ctx.quick ? 200 : 2_000)]),
    ) as { count: number; dns_lookup_ms_p50: number; dns_lookup_ms_p99: number };
    ctx.log(`dns: ${dns.count} lookups from a task, p50 ${round(dns.dns_lookup_ms_p50, 3)} ms`);
    ctx.emit("dns_lookup_ms_p99", round(dns.dns_lookup_ms_p99, 3), "ms");
  } finally {
    const errors: unknown[] = [];
    for (const n of nodes) await n.close().catch((e) => errors.push(e));
    for (const d of dataDirs) await Deno.remove(d, { recursive: true }).catch(() => {});
    if (errors.length) ctx.log(`node cleanup: ${errors.map(String).join("; ")}`);
  }
}

/** The suite. */
export const suite: BenchSuite = {
  description: "task-to-task overlay vs bare WireGuard throughput, VIP connect and DNS latency",
  timeoutMs: 300_000,
  run: measure,
};
