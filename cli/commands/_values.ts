/**
 * Parsers for the structured flag values of `service create|update` and friends: `--publish`,
 * `--mount`, `--secret`, `--env`, `--label k=v`, `--constraint`, `--health-http`. Each returns
 * the domain-shaped input (validated fully later by the zod schema) or throws a ValidationError
 * naming the flag, the value and what was expected.
 * @module
 */
import { ValidationError } from "../../proto/errors.ts";
import { parseConstraint, parseSpread } from "../../proto/schema/constraint.ts";
import { parseEnvEntry } from "../../proto/schema/env.ts";
import type { HttpCheck, Mount, Port, SecretRef } from "../../proto/schema/mod.ts";
import { parseIntFlag } from "./_units.ts";

/** A port as a flag describes it (defaults filled in later by the schema). */
export type PortInput = Partial<Port> & { target: number };
/** A mount as a flag describes it. */
export type MountInput = Partial<Mount> & Pick<Mount, "type" | "target">;
/** A secret reference as a flag describes it. */
export type SecretRefInput = Partial<SecretRef> & { secret: string };

/** Splits `a=b` comma lists into [key, value|undefined] pairs. */
function pieces(text: string): [string, string | undefined][] {
  return text.split(",").map((p) => p.trim()).filter((p) => p !== "").map((p) => {
    const eq = p.indexOf("=");
    return eq < 0 ? [p, undefined] : [p.slice(0, eq).trim(), p.slice(eq + 1).trim()];
  });
}

function port(text: string, flag: string): number {
  return parseIntFlag(text, flag, { min: 1, max: 65535 });
}

/**
 * `--publish`: `[mode=host,]PUBLISHED:TARGET[/tcp|udp]`, `TARGET[/proto]` (not published), or
 * the long form `published=8080,target=80,protocol=udp,mode=host[,name=http]`.
 */
export function parsePublish(text: string, flag = "--publish"): PortInput {
  const out: Partial<PortInput> = {};
  for (const [key, value] of pieces(text)) {
    if (value === undefined) {
      const m = /^(?:(\d+):)?(\d+)(?:\/([a-z]+))?$/.exec(key);
      if (!m) {
        throw new ValidationError(
          flag,
          `"${text}" must be [mode=host,]PUBLISHED:TARGET[/tcp|udp], e.g. 8080:80 or 53:53/udp`,
        );
      }
      if (m[1] !== undefined) out.published = port(m[1], flag);
      out.target = port(m[2]!, flag);
      if (m[3] !== undefined) out.protocol = protocol(m[3], flag);
      continue;
    }
    switch (key) {
      case "mode":
        if (value !== "host" && value !== "ingress") {
          throw new ValidationError(flag, `mode "${value}" must be host or ingress`);
        }
        out.publishMode = value;
        break;
      case "published":
        out.published = port(value, flag);
        break;
      case "target":
        out.target = port(value, flag);
        break;
      case "protocol":
        out.protocol = protocol(value, flag);
        break;
      case "name":
        out.name = value;
        break;
      default:
        throw new ValidationError(
          flag,
          `unknown key "${key}" in "${text}"; known: mode, published, target, protocol, name`,
        );
    }
  }
  if (out.target === undefined) {
    throw new ValidationError(flag, `"${text}" names no target port`);
  }
  return out as PortInput;
}

function protocol(value: string, flag: string): "tcp" | "udp" {
  if (value !== "tcp" && value !== "udp") {
    throw new ValidationError(flag, `protocol "${value}" must be tcp or udp`);
  }
  return value;
}

function bool(value: string | undefined, flag: string, key: string): boolean {
  if (value === undefined || value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new ValidationError(flag, `${key}=${value} must be true or false`);
}

/**
 * `--mount`: `type=volume|bind|tmpfs,src=NAME|PATH,dst=PATH[,ro]` (also `source`, `target`,
 * `destination`, `readonly`, `ro=true|false`); type defaults to volume.
 */
export function parseMount(text: string, flag = "--mount"): MountInput {
  const out: Partial<MountInput> = { type: "volume" };
  for (const [key, value] of pieces(text)) {
    switch (key) {
      case "type":
        if (value !== "volume" && value !== "bind" && value !== "tmpfs") {
          throw new ValidationError(flag, `type "${value ?? ""}" must be volume, bind or tmpfs`);
        }
        out.type = value;
        break;
      case "source":
      case "src":
        out.source = value ?? "";
        break;
      case "target":
      case "dst":
      case "destination":
        out.target = value ?? "";
        break;
      case "ro":
      case "readonly":
      case "read-only":
        out.readOnly = bool(value, flag, key);
        break;
      default:
        throw new ValidationError(
          flag,
          `unknown key "${key}" in "${text}"; expected type=volume,src=NAME,dst=/PATH[,ro]`,
        );
    }
  }
  if (!out.target) {
    throw new ValidationError(flag, `"${text}" needs dst=/PATH (the container path)`);
  }
  return out as MountInput;
}

/** `--secret`: `NAME[,target=FILE][,mode=0400]` or `source=NAME,...`. */
export function parseSecretRef(text: string, flag = "--secret"): SecretRefInput {
  const out: Partial<SecretRefInput> = {};
  for (const [key, value] of pieces(text)) {
    if (value === undefined && out.secret === undefined) {
      out.secret = key;
      continue;
    }
    switch (key) {
      case "source":
      case "src":
        out.secret = value;
        break;
      case "target":
        out.target = value;
        break;
      case "mode": {
        const mode = /^0?[0-7]{1,3}$/.test(value ?? "") ? parseInt(value!, 8) : NaN;
        if (Number.isNaN(mode)) {
          throw new ValidationError(flag, `mode "${value ?? ""}" must be octal like 0400`);
        }
        out.mode = mode;
        break;
      }
      default:
        throw new ValidationError(
          flag,
          `unknown key "${key}" in "${text}"; expected NAME[,target=FILE][,mode=0400]`,
        );
    }
  }
  if (!out.secret) throw new ValidationError(flag, `"${text}" names no secret`);
  return out as SecretRefInput;
}

/** `KEY=VALUE` (or `KEY` alone when `allowBare`, meaning an empty value). */
export function parseKeyValue(
  text: string,
  flag: string,
  opts: { allowBare?: boolean } = {},
): [string, string] {
  const eq = text.indexOf("=");
  if (eq < 0 && opts.allowBare && text !== "") return [text, ""];
  if (eq <= 0) throw new ValidationError(flag, `"${text}" must be KEY=VALUE`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** `--env KEY=VALUE`, checked as the schema checks it. */
export function parseEnvFlag(text: string, flag = "--env"): string {
  const parsed = parseEnvEntry(text);
  if (typeof parsed === "string") throw new ValidationError(flag, parsed);
  return text;
}

/** `--constraint node.labels.zone==edge`, checked up front. */
export function parseConstraintFlag(text: string, flag = "--constraint"): string {
  const parsed = parseConstraint(text);
  if (typeof parsed === "string") throw new ValidationError(flag, parsed);
  return text.trim();
}

/** `--placement-pref spread=node.labels.zone` (or just `node.labels.zone`). */
export function parsePlacementPref(text: string, flag = "--placement-pref"): { spread: string } {
  const spread = text.startsWith("spread=") ? text.slice("spread=".length) : text;
  const parsed = parseSpread(spread);
  if (typeof parsed === "string") throw new ValidationError(flag, parsed);
  return { spread };
}

/** `--health-http PATH:PORT` (`/healthz:8080`), `:PORT` or `PORT` for path `/`. */
export function parseHealthHttp(text: string, flag = "--health-http"): Partial<HttpCheck> {
  const colon = text.lastIndexOf(":");
  const path = colon < 0 ? "" : text.slice(0, colon);
  const portText = colon < 0 ? text : text.slice(colon + 1);
  if (path !== "" && !path.startsWith("/")) {
    throw new ValidationError(flag, `"${text}" must be PATH:PORT like /healthz:8080`);
  }
  const out: Partial<HttpCheck> = { port: parseIntFlag(portText, flag, { min: 1, max: 65535 }) };
  if (path !== "") out.path = path;
  return out;
}
