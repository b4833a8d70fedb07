/**
 * Where the CLI finds the cluster. In order: `--manager HOST:PORT` (repeatable or a comma list),
 * the environment variable `WARREN_MANAGER` (comma list), else the config file
 * (`$WARREN_CONFIG`, default `~/.warren/config.json`) that `warren cluster init` and
 * `warren join` write with {@link writeCliConfig}. TLS settings always come from the config file.
 * @module
 */
import { dirname, isAbsolute, join } from "node:path";
import { z } from "zod";
import { ValidationError, WarrenError } from "../proto/errors.ts";
import { HostnameSchema, HostPortSchema, IdSchema, splitHostPort } from "../proto/schema/common.ts";
import { parseOrThrow } from "../proto/schema/parse.ts";

/** Client TLS files (PEM). Relative paths are relative to the config file's directory. */
export const CliTlsSchema = z.strictObject({
  /** Cluster CA certificate. */
  caFile: z.string().min(1),
  /** This client's certificate. */
  certFile: z.string().min(1),
  /** This client's private key. */
  keyFile: z.string().min(1),
  /** Name the managers' certificates carry, when dialing them by IP address. */
  serverName: HostnameSchema.optional(),
});
/** Client TLS files. */
export type CliTls = z.infer<typeof CliTlsSchema>;

/** The CLI config file: `{ "managers": ["host:port", ...], "clusterId": "...", "tls"?: {...} }`. */
export const CliConfigSchema = z.strictObject({
  /** Manager API addresses, `host:port`. */
  managers: z.array(HostPortSchema).min(1, "must list at least one manager").max(64),
  /** ID of the cluster these managers belong to. */
  clusterId: IdSchema,
  /** Mutual TLS files; absent means plaintext (loopback test clusters only). */
  tls: CliTlsSchema.optional(),
});
/** The CLI config file. */
export type CliConfig = z.infer<typeof CliConfigSchema>;

/** Reads environment variables (so tests need not touch the process environment). */
export type EnvGetter = (name: string) => string | undefined;

/** Reads the process environment (needs --allow-env; missing permission reads as unset). */
export const processEnv: EnvGetter = (name) => {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
};

/** `$WARREN_CONFIG`, else `$HOME/.warren/config.json`. */
export function defaultConfigPath(env: EnvGetter = processEnv): string {
  const explicit = env("WARREN_CONFIG");
  if (explicit) return explicit;
  const home = env("HOME") ?? env("USERPROFILE");
  if (!home) {
    throw new ValidationError("WARREN_CONFIG", "is unset and so is HOME: cannot locate the config");
  }
  return join(home, ".warren", "config.json");
}

/** Reads and validates the config file; undefined when it does not exist. */
export async function readCliConfig(path: string): Promise<CliConfig | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new WarrenError("failed_precondition", `cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(path, `is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  try {
    return parseOrThrow(CliConfigSchema, raw);
  } catch (err) {
    const e = err as ValidationError;
    throw new ValidationError(`${path}: ${e.field}`, e.message.slice(e.field.length + 2), {
      cause: err,
    });
  }
}

/**
 * Writes the config file atomically (temporary file + rename): the directory is created with
 * mode 0700, the file gets mode 0600 (it names the key file and the cluster).
 */
export async function writeCliConfig(path: string, config: CliConfig): Promise<void> {
  const valid = parseOrThrow(CliConfigSchema, config);
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  try {
    await Deno.writeTextFile(tmp, JSON.stringify(valid, null, 2) + "\n", { mode: 0o600 });
    // mode applies only when the file is created; be explicit in case umask widened it.
    await Deno.chmod(tmp, 0o600);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/**
 * Splits `--manager` values (each may be a comma list) into addresses, validating each;
 * `source` names the flag or variable in the error. A value that names no address at all
 * (`--manager ""`) is an error, not "no flag": falling back to another cluster's managers
 * because a script's variable was empty would send the command to the wrong place.
 */
export function parseManagerList(values: readonly string[], source = "--manager"): string[] {
  const out: string[] = [];
  for (const value of values) {
    const parts = value.split(",").map((p) => p.trim()).filter((p) => p !== "");
    if (parts.length === 0) {
      throw new ValidationError(
        source,
        `${JSON.stringify(value)} names no manager: it must be HOST:PORT (or a comma list)`,
      );
    }
    for (const address of parts) {
      if (!splitHostPort(address)) {
        throw new ValidationError(
          source,
          `"${address}" must be HOST:PORT with a port in 1..65535 (IPv6 hosts in brackets)`,
        );
      }
      if (!out.includes(address)) out.push(address);
    }
  }
  return out;
}

/**
 * The managers `WARREN_MANAGER` names; none when it is unset or empty (an empty variable reads
 * as unset, as shells treat `VAR=`), an error when it is set to something that is no list.
 */
export function managersFromEnv(env: EnvGetter): string[] {
  const value = env("WARREN_MANAGER") ?? "";
  return value === "" ? [] : parseManagerList([value], "WARREN_MANAGER");
}

/** Where the CLI sends its calls, and how. */
export interface ResolvedTarget {
  /** Manager addresses, in failover order. */
  managers: string[];
  /** Where they came from. */
  source: "flag" | "env" | "config";
  /** TLS files (absolute paths), when the config file has them. */
  tls?: CliTls;
  /** The config file that was read, if any. */
  configPath?: string;
  /** Cluster ID from the config file. */
  clusterId?: string;
}

/** The message when nothing says where the cluster is. */
export const NO_MANAGER_MESSAGE =
  "no manager address: pass --manager HOST:PORT, set WARREN_MANAGER, or run 'warren cluster init'";

/** Resolves the managers from the flag, the environment and the config file, in that order. */
export async function resolveTarget(opts: {
  flag?: readonly string[];
  env?: EnvGetter;
  configPath?: string;
} = {}): Promise<ResolvedTarget> {
  const env = opts.env ?? processEnv;
  const path = opts.configPath ?? defaultConfigPath(env);
  const config = await readCliConfig(path);
  const fromConfig = config
    ? {
      configPath: path,
      clusterId: config.clusterId,
      tls: config.tls && absoluteTls(config.tls, dirname(path)),
    }
    : {};
  const flag = parseManagerList(opts.flag ?? []);
  if (flag.length > 0) return { managers: flag, source: "flag", ...fromConfig };
  const fromEnv = managersFromEnv(env);
  if (fromEnv.length > 0) return { managers: fromEnv, source: "env", ...fromConfig };
  if (config) return { managers: [...config.managers], source: "config", ...fromConfig };
  throw new WarrenError("failed_precondition", NO_MANAGER_MESSAGE);
}

function absoluteTls(tls: CliTls, base: string): CliTls {
  const abs = (p: string) => isAbsolute(p) ? p : join(base, p);
  return {
    ...tls,
    caFile: abs(tls.caFile),
    certFile: abs(tls.certFile),
    keyFile: abs(tls.keyFile),
  };
}
