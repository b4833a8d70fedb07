/**
 * Invokes one CNI plugin binary exactly as the CNI spec (1.0) says: the operation and its
 * parameters in `CNI_*` environment variables, the network configuration as JSON on stdin, the
 * result as JSON on stdout; on failure a non-zero exit with an error object on stdout, which
 * becomes a {@link CniError}.
 * @module
 */
import { WarrenError } from "../../proto/errors.ts";
import { runCommand } from "../host/command.ts";

/** Where Debian's containernetworking-plugins package installs the plugins. */
export const DEFAULT_CNI_PATH = "/usr/lib/cni";
/** The CNI spec version Warren writes in configurations. */
export const CNI_VERSION = "1.0.0";

/** CNI operations. */
export type CniCommand = "ADD" | "DEL" | "CHECK" | "VERSION";

/** An IP configuration in a CNI result. */
export interface CniIpConfig {
  /** CIDR notation: `10.240.1.5/24`. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

/** A CNI result (the parts Warren reads; others are kept as they are for chaining). */
export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: CniIpConfig[];
  routes?: { dst: string; gw?: string }[];
  dns?: Record<string, unknown>;
  [key: string]: unknown;
}

/** One plugin's configuration: at least `type` (the binary name). */
export interface CniPluginConfig {
  type: string;
  [key: string]: unknown;
}

/** Parameters of {@link invokeCniPlugin}. */
export interface CniInvocation {
  command: CniCommand;
  containerId: string;
  /** Path of the container's network namespace, e.g. `/run/netns/x`. */
  netns: string;
  /** Interface name inside the container, e.g. `eth0`. */
  ifName: string;
  /** The plugin configuration (with `name`, `cniVersion` and, when chained, `prevResult`). */
  config: CniPluginConfig;
  /** Directory of plugin binaries; default {@link DEFAULT_CNI_PATH}. */
  cniPath?: string;
}

/**
 * A plugin reported an error. `cniCode` is the spec's code (e.g. 7 invalid configuration,
 * 11 try again later — the only retryable one).
 */
export class CniError extends WarrenError {
  readonly plugin: string;
  readonly cniCode: number;
  readonly details: string;
  constructor(
    plugin: string,
    command: CniCommand,
    e: { code: number; msg: string; details?: string },
  ) {
    super(
      e.code === 11 ? "unavailable" : "internal",
      `CNI plugin "${plugin}" ${command} failed (code ${e.code}): ${e.msg}${
        e.details ? ` (${e.details})` : ""
      }`,
      { retryable: e.code === 11 },
    );
    this.plugin = plugin;
    this.cniCode = e.code;
    this.details = e.details ?? "";
  }
}

/**
 * Runs the plugin named by `config.type`. @returns the parsed result for ADD and VERSION,
 * `undefined` for DEL and CHECK (which print nothing on success)
 * @throws CniError when the plugin fails
 */
export async function invokeCniPlugin(inv: CniInvocation): Promise<CniResult | undefined> {
  const cniPath = inv.cniPath ?? DEFAULT_CNI_PATH;
  if (!/^[A-Za-z0-9_-]+$/.test(inv.config.type)) {
    throw new CniError(inv.config.type, inv.command, {
      code: 7,
      msg: `invalid plugin type "${inv.config.type}"`,
    });
  }
  const res = await runCommand([`${cniPath}/${inv.config.type}`], {
    stdin: JSON.stringify(inv.config),
    check: false,
    env: {
      CNI_COMMAND: inv.command,
      CNI_CONTAINERID: inv.containerId,
      CNI_NETNS: inv.netns,
      CNI_IFNAME: inv.ifName,
      CNI_PATH: cniPath,
    },
  });
  if (res.code !== 0) {
    let e: { code: number; msg: string; details?: string };
    try {
      const parsed = JSON.parse(res.stdout) as { code?: number; msg?: string; details?: string };
      e = {
        code: parsed.code ?? 999,
        msg: parsed.msg ?? "no message",
        ...(parsed.details ? { details: parsed.details } : {}),
      };
    } catch {
      e = { code: 999, msg: (res.stderr || res.stdout).trim() || `exit code ${res.code}` };
    }
    throw new CniError(inv.config.type, inv.command, e);
  }
  if (inv.command === "DEL" || inv.command === "CHECK") return undefined;
  return JSON.parse(res.stdout) as CniResult;
}
