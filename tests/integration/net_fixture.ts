/**
 * Runs a node data-plane test file inside a netns "host", so that the bridge, iptables chains,
 * sysctls and the DNS listener it creates never touch the machine's own network namespace:
 *
 * ```
 *  outer `deno test net_x_test.ts` ── createNetnsCluster({hosts: 2}) ──┐
 *     h1: FORWARD policy DROP, `ip netns exec h1 deno test net_x_test.ts` (inner, the node)
 *     h2: an outside client (published ports are reached from here)
 * ```
 *
 * The inner run sees `WARREN_NET_INNER=1` and registers the real tests; the outer run registers
 * one test that spawns the inner run and fails if it fails. Leaving the outer test deletes both
 * hosts and everything in them.
 * @module
 */
import assert from "node:assert/strict";
import { createNetnsCluster } from "../fixtures/netns.ts";
import { runCommand } from "../../net/host/command.ts";
import { listNetns } from "../../net/cni/netns.ts";

/** What an inner run knows about its surroundings. */
export interface NodeHostEnv {
  /** The node's own address (eth0 of h1). */
  nodeAddress: string;
  /** Named netns of an outside client host (h2). */
  clientNetns: string;
  /** The client's address. */
  clientAddress: string;
}

/** The environment when running inside the node host, else undefined. */
export function nodeHostEnv(): NodeHostEnv | undefined {
  if (Deno.env.get("WARREN_NET_INNER") !== "1") return undefined;
  return {
    nodeAddress: Deno.env.get("WARREN_NET_NODE_ADDRESS")!,
    clientNetns: Deno.env.get("WARREN_NET_CLIENT_NETNS")!,
    clientAddress: Deno.env.get("WARREN_NET_CLIENT_ADDRESS")!,
  };
}

/** Outer run: one test that runs `fileUrl` again inside a fresh node host. */
export function registerOuterRun(fileUrl: string, name: string): void {
  Deno.test({
    name: `${name} (inside a netns node host)`,
    ignore: Deno.uid() !== 0,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await using cluster = await createNetnsCluster({ hosts: 2, prefix: "wnet" });
      const [node, client] = cluster.hosts;
      // A Docker-like host: only Warren's own chains let task traffic through.
      const drop = await node!.run(["iptables", "-w", "-P", "FORWARD", "DROP"]);
      assert.equal(drop.code, 0, drop.stderr);
      const child = node!.spawn(
        ["deno", "test", "-A", "--no-check", new URL(fileUrl).pathname],
        {
          env: {
            WARREN_NET_INNER: "1",
            WARREN_NET_NODE_ADDRESS: node!.address,
            WARREN_NET_CLIENT_NETNS: client!.name,
            WARREN_NET_CLIENT_ADDRESS: client!.address,
          },
          stdout: "inherit",
          stderr: "inherit",
        },
      );
      const status = await child.status;
      assert.equal(status.code, 0, "the inner test run failed (see its output above)");
    },
  });
}

/** Runs `argv` inside the named namespace. */
export function inNetns(netns: string, argv: string[]) {
  return runCommand(["ip", "netns", "exec", netns, ...argv], { check: false });
}

/** Polls `cond` every 20 ms until it holds or `timeoutMs` passes. */
export async function waitFor(
  what: string,
  cond: () => Promise<boolean> | boolean,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts a TCP responder in `netns` on `port` that answers every connection with `reply` and
 * closes (busybox nc in persistent listen mode). @returns a handle killing it on dispose
 */
export async function startResponder(
  netns: string,
  port: number,
  reply: string,
  /** Program run per connection; default `echo <reply>`. */
  program: string[] = ["echo", reply],
): Promise<AsyncDisposable> {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", netns, "busybox", "nc", "-ll", "-p", String(port), "-e", ...program],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitFor(`responder ${reply} listening`, async () => {
    const r = await inNetns(netns, ["busybox", "netstat", "-ltn"]);
    return r.stdout.includes(`:${port} `);
  });
  return {
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch {
        // Exited already.
      }
      await child.status;
    },
  };
}

/** Connects to ip:port from this process and returns what the peer sent before closing. */
export async function tcpRead(ip: string, port: number, timeoutMs = 2_000): Promise<string> {
  const conn = await Deno.connect({ hostname: ip, port, signal: AbortSignal.timeout(timeoutMs) });
  try {
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(256);
    const timer = setTimeout(() => conn.close(), timeoutMs);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        chunks.push(buf.slice(0, n));
      }
    } finally {
      clearTimeout(timer);
    }
    return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c]))).trim();
  } finally {
    try {
      conn.close();
    } catch {
      // Closed by the timer.
    }
  }
}

/** A random lowercase-hex suffix for unique names. */
export function randomSuffix(): string {
  return crypto.randomUUID().slice(0, 8);
}

/** Rules and user-defined chains of an iptables-save dump (empty tables and counters ignored). */
function iptablesState(save: string): string[] {
  const builtin = /^:(INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) /;
  return save.split("\n")
    .filter((l) => l.startsWith("-A ") || (l.startsWith(":") && !builtin.test(l)))
    .map((l) => (l.startsWith(":") ? l.split(" ")[0]! : l))
    .sort();
}

/**
 * Everything a data plane could leave behind in this namespace (links, task namespaces,
 * iptables rules and chains, nft tables other than iptables-nft's, IPAM files), for a
 * before/after comparison.
 */
export async function snapshot(ipamDir: string) {
  const links = JSON.parse((await runCommand(["ip", "-j", "link", "show"])).stdout) as {
    ifname: string;
  }[];
  const files: string[] = [];
  try {
    for await (const e of Deno.readDir(ipamDir)) files.push(e.name);
  } catch {
    // No IPAM dir at all.
  }
  const tables = (await runCommand(["nft", "list", "tables"])).stdout.split("\n")
    .filter((l) => l.includes("warren")).sort();
  return {
    links: links.map((l) => l.ifname).sort(),
    netns: await listNetns("wtask-"),
    iptables: iptablesState((await runCommand(["iptables-save"])).stdout),
    nftTables: tables,
    ipamFiles: files.sort(),
  };
}
