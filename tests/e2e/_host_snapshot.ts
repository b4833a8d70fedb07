/**
 * What a netns host holds at the network level (links, routes, iptables rules and chains,
 * nftables tables, task namespaces), to prove that Warren leaves nothing behind: snapshot each
 * host before the daemons start and compare after they stopped.
 *
 * iptables-nft creates the built-in tables and chains of a namespace on first use; those are not
 * leftovers. Everything else that differs is: any rule, any user chain, any other nft table.
 * @module
 */
import type { NetnsHost } from "../fixtures/netns.ts";
import { nodeNames } from "../../net/host/names.ts";

/** One host's network objects, as comparable lines. */
export interface HostSnapshot {
  links: string[];
  routes: string[];
  /** `<table>: -A ...` rules and `<table>: :CHAIN` user chains. */
  iptables: string[];
  /** `table <family> <name>` except iptables-nft's own. */
  nftTables: string[];
}

const IPTABLES_NFT_TABLES = /^table (ip|ip6|inet) (filter|nat|mangle|raw|security)$/;

async function lines(host: NetnsHost, cmd: string[]): Promise<string[]> {
  const r = await host.run(cmd);
  if (r.code !== 0) throw new Error(`${host.name}: ${cmd.join(" ")}: exit ${r.code}\n${r.stderr}`);
  return r.stdout.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

/** Takes a snapshot of `host`. */
export async function snapshotHost(host: NetnsHost): Promise<HostSnapshot> {
  const links = (await lines(host, ["ip", "-o", "link", "show"]))
    .map((l) => l.split(":")[1]!.trim().replace(/@.*$/, ""));
  const routes = [
    ...await lines(host, ["ip", "-4", "route", "show", "table", "all"]),
    // Link-local routes come and go with IPv6 autoconfiguration of the host's own eth0.
    ...(await lines(host, ["ip", "-6", "route", "show", "table", "all"]))
      .filter((l) => !/^(local )?fe80:/.test(l)),
  ];
  const iptables: string[] = [];
  let table = "";
  for (const l of await lines(host, ["iptables-save"])) {
    if (l.startsWith("*")) table = l.slice(1);
    else if (l.startsWith("-A ")) iptables.push(`${table}: ${l}`);
    // User chains have no policy ("-"); built-in ones have ACCEPT/DROP.
    else if (/^:\S+ - /.test(l)) iptables.push(`${table}: ${l.split(" ")[0]}`);
  }
  const nftTables = (await lines(host, ["nft", "list", "tables"]))
    .filter((l) => !IPTABLES_NFT_TABLES.test(l));
  return { links, routes, iptables, nftTables };
}

/** Lines of `after` absent from `before`, prefixed with their kind (empty: nothing left). */
export function leftovers(before: HostSnapshot, after: HostSnapshot): string[] {
  const out: string[] = [];
  for (const k of ["links", "routes", "iptables", "nftTables"] as const) {
    const had = new Set(before[k]);
    for (const l of after[k]) if (!had.has(l)) out.push(`${k}: ${l}`);
  }
  return out;
}

/** Task namespaces of node `nodeId` in /run/netns (`wtask-<tag>-<task>`). */
export async function taskNamespaces(nodeId: string): Promise<string[]> {
  const prefix = nodeNames(nodeId).netnsPrefix;
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir("/run/netns")) {
      if (e.name.startsWith(prefix)) out.push(e.name);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

/** IDs of the processes in the network namespace bound at `nsPath` (e.g. a task's). */
export async function processesInNetns(nsPath: string): Promise<number[]> {
  const ino = (await Deno.stat(nsPath)).ino;
  const out: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (await Deno.readLink(`/proc/${e.name}/ns/net`) === `net:[${ino}]`) out.push(+e.name);
    } catch { /* exited, or a kernel thread */ }
  }
  return out;
}

/** Whether process `pid` is gone (or a zombie: dead, not yet reaped). */
export async function processGone(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}
