/**
 * Flags shared by the daemon commands (`cluster init`, `join`, `worker start`): listen and
 * advertise addresses, data directory, logging, and the flags of a node that runs tasks.
 * @module
 */
import type { Command } from "commander";
import { configureLogging, type LogFormat, type LogLevel } from "../../proto/log.ts";
import { ValidationError } from "../../proto/errors.ts";

/** Default ports: gRPC API, Raft, REST/metrics. */
export const DEFAULT_PORTS = { api: 4240, raft: 4241, http: 4242 } as const;

/** Parsed daemon flags. */
export interface DaemonFlags {
  dataDir: string;
  apiAddr: string;
  raftAddr: string;
  httpAddr: string;
  advertiseAddr?: string;
  logLevel: string;
  logFormat: string;
}

/** Adds the shared daemon flags to `cmd`. */
export function addDaemonFlags<C extends Command>(cmd: C): C {
  cmd
    .option("--data-dir <dir>", "where this node keeps its state", defaultDataDir())
    .option("--api-addr <host:port>", "gRPC API listen address", `0.0.0.0:${DEFAULT_PORTS.api}`)
    .option("--raft-addr <host:port>", "Raft listen address", `0.0.0.0:${DEFAULT_PORTS.raft}`)
    .option(
      "--http-addr <host:port>",
      "REST (answers loopback clients only), /health, /ready and /metrics listen address",
      `0.0.0.0:${DEFAULT_PORTS.http}`,
    )
    .option(
      "--advertise-addr <host>",
      "address other nodes reach this one at (default: first non-loopback IPv4)",
    )
    .option("--log-level <level>", "debug|info|warn|error", "info")
    .option("--log-format <format>", "text|json", "text");
  return cmd;
}

/** Parsed flags of a daemon that may run a worker (see {@link addWorkerFlags}). */
export interface WorkerFlags {
  containerdSocket?: string;
  drainOnExit?: boolean;
  metricsAddr?: string;
  /** Registries (`host[:port]`) pulled from over plain HTTP. */
  insecureRegistry: string[];
}

/**
 * Checks one `--insecure-registry` value: a registry as image references name it, `host` or
 * `host:port` (Docker's `insecure-registries`, without its CIDR form), lower-cased.
 */
export function parseInsecureRegistry(value: string): string {
  const v = value.trim().toLowerCase();
  const hostPort =
    /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/
      .exec(v);
  if (!hostPort || (hostPort[1] !== undefined && Number(hostPort[1]) > 65535)) {
    throw new ValidationError(
      "--insecure-registry",
      `"${value}" must be a registry host or host:port, without a scheme or path`,
    );
  }
  return v;
}

/**
 * Adds the flags of a node that runs tasks to `cmd`: one definition for `cluster init` (its
 * co-located worker), `join` (a worker token) and `worker start`.
 */
export function addWorkerFlags<C extends Command>(cmd: C): C {
  cmd
    .option(
      "--containerd-socket <path>",
      "containerd to use (default: the host's, else Warren starts its own)",
    )
    .option("--drain-on-exit", "stop every task before exiting (default: leave them running)")
    .option(
      "--metrics-addr <host:port>",
      "serve the worker's Prometheus /metrics (per-task CPU and memory) here",
    )
    .option(
      "--insecure-registry <host[:port]>",
      "pull images from this registry over plain HTTP, e.g. a LAN registry (repeatable; loopback ones always are)",
      (v: string, acc: string[]) => [...acc, parseInsecureRegistry(v)],
      [] as string[],
    );
  return cmd;
}

/** Applies --log-level/--log-format, rejecting unknown values. */
export function applyLogFlags(f: DaemonFlags): void {
  if (!["debug", "info", "warn", "error"].includes(f.logLevel)) {
    throw new ValidationError(
      "--log-level",
      `must be debug, info, warn or error, not "${f.logLevel}"`,
    );
  }
  if (!["text", "json"].includes(f.logFormat)) {
    throw new ValidationError("--log-format", `must be text or json, not "${f.logFormat}"`);
  }
  configureLogging({ level: f.logLevel as LogLevel, format: f.logFormat as LogFormat });
}

/** /var/lib/warren for root, ~/.warren/data otherwise. */
export function defaultDataDir(): string {
  try {
    if (Deno.uid() === 0) return "/var/lib/warren";
  } catch { /* not on unix */ }
  return `${Deno.env.get("HOME") ?? "."}/.warren/data`;
}

/**
 * The advertise address: the flag, else the listen host, else the first IPv4 of the host's own
 * interfaces (see {@link hostAddress}), else 127.0.0.1.
 */
export function advertiseAddress(flag: string | undefined, listen: string): string {
  if (flag) return flag;
  const host = listen.slice(0, listen.lastIndexOf(":"));
  if (host && host !== "0.0.0.0" && host !== "::" && host !== "[::]") return host;
  try {
    return hostAddress(Deno.networkInterfaces()) ?? "127.0.0.1";
  } catch { /* not permitted */ }
  return "127.0.0.1";
}

/**
 * Interfaces that never carry a node's address: Warren's own (the task bridge `wbr…`, the
 * WireGuard overlay `wg-…`, task veths) and other runtimes' bridges. A restarted node whose
 * network card has no address yet would otherwise advertise its own task bridge.
 */
const VIRTUAL_INTERFACE = /^(wbr|wg-|veth|docker|br-|virbr|cni|flannel|cali|vxlan)/;

/** The first non-loopback IPv4 address of an interface that is not a virtual one. */
export function hostAddress(
  ifs: readonly Pick<Deno.NetworkInterfaceInfo, "name" | "family" | "address">[],
): string | undefined {
  return ifs.find((i) =>
    i.family === "IPv4" && !i.address.startsWith("127.") && !VIRTUAL_INTERFACE.test(i.name)
  )?.address;
}
