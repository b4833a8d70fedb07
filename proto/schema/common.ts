/**
 * Building blocks shared by the domain schemas: identifiers, names, labels, timestamps,
 * resources and network addresses. Every string and collection here is bounded, so a request
 * cannot make the cluster store an unbounded value.
 */
import { z } from "zod";

/** Largest integer a JSON number (and a protobuf int64 read as number) carries exactly. */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Object IDs: 1-64 characters, letters, digits, `_`, `-`, `.`; starting with a letter or digit. */
export const IdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    "must be 1-64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit",
  );

/**
 * A client's ID of one logical write, the same on every retry of it (Raft dissertation §6.3):
 * managers answer a repeat with the first outcome instead of applying the write again. 16-128
 * characters of letters, digits, `.`, `_`, `:` or `-` (a UUID fits); long enough that two
 * clients do not pick the same one by chance.
 */
export const RequestIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9._:-]{16,128}$/,
    "must be 16-128 characters of letters, digits, '.', '_', ':' or '-'",
  );

/**
 * A DNS label as used for service, secret and volume names: 1-63 characters of `[a-z0-9-]`,
 * neither starting nor ending with `-`.
 */
export const DnsLabelSchema = z
  .string()
  .min(1, "must not be empty")
  .max(63, "must be at most 63 characters")
  .regex(
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/,
    "must be a DNS label: lowercase letters, digits and '-', not starting or ending with '-'",
  );

/** A host name (RFC 1123): dot-separated labels, at most 253 characters. */
export const HostnameSchema = z
  .string()
  .min(1, "must not be empty")
  .max(253, "must be at most 253 characters")
  .regex(
    /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
    "must be a host name: dot-separated labels of letters, digits and '-'",
  );

/**
 * A feature level: which replicated commands and semantics a Warren binary understands, or which
 * a cluster has turned on (manager/state/fsm_feature_level.ts). Levels start at 1.
 */
export const FeatureLevelSchema = z.number().int("must be an integer").min(1).max(1_000_000);

/** A point in time as integer milliseconds since the Unix epoch. */
export const TimestampMsSchema = z.number().int("must be an integer").min(0).max(MAX_SAFE);

/**
 * A duration in integer milliseconds, at most `maxMs`. The maximum is checked first: a value
 * past it may be past 2^53 too (`99999999999h`), and must read as too large, not as "not an
 * integer".
 */
export function durationMs(maxMs: number): z.ZodNumber {
  return z.number()
    .max(maxMs, `must be at most ${durationText(maxMs)} (${maxMs} ms)`)
    .int("must be an integer number of milliseconds")
    .min(0);
}

/** `3600000` → `1h`, `90000` → `90s`: a limit as a user writes durations. */
function durationText(ms: number): string {
  if (ms % HOUR_MS === 0) return `${ms / HOUR_MS}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** One hour, the largest duration most timeouts accept. */
export const HOUR_MS = 3_600_000;
/** One day. */
export const DAY_MS = 86_400_000;

/** Most labels one object may carry. */
export const MAX_LABELS = 64;

const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,126}[A-Za-z0-9])?$/;

/**
 * Labels: at most 64 entries; keys of 1-128 characters (letters, digits, `.`, `_`, `/`, `-`,
 * starting and ending alphanumeric), values of at most 256 characters.
 */
export const LabelsSchema = z
  .record(
    z.string().regex(
      LABEL_KEY,
      "must be 1-128 characters of letters, digits, '.', '_', '/' or '-', starting and ending with a letter or digit",
    ),
    z.string().max(256, "label values must be at most 256 characters"),
  )
  .refine((labels) => Object.keys(labels).length <= MAX_LABELS, {
    message: `must have at most ${MAX_LABELS} entries`,
  })
  .default({});

/** CPU and memory amounts; both are whole numbers (CPU in billionths of a core). */
export const ResourcesSchema = z.object({
  /** CPU in units of 1e-9 cores (1 core = 1_000_000_000). */
  nanoCpus: z.number().int().min(0).max(MAX_SAFE).default(0),
  /** Memory in bytes. */
  memoryBytes: z.number().int().min(0).max(MAX_SAFE).default(0),
});
/** CPU and memory amounts. */
export type Resources = z.infer<typeof ResourcesSchema>;

/** Partial resources: each field absent means "no limit" or "no reservation". */
export const ResourceAmountsSchema = z.strictObject({
  /** CPU in units of 1e-9 cores. */
  nanoCpus: z.number().int().min(1).max(MAX_SAFE).optional(),
  /** Memory in bytes; at least 4 MiB, since a smaller cgroup limit cannot start a process. */
  memoryBytes: z.number().int().min(4 * 1024 * 1024, "must be at least 4 MiB").max(MAX_SAFE)
    .optional(),
});
/** Optional CPU and memory amounts. */
export type ResourceAmounts = z.infer<typeof ResourceAmountsSchema>;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Whether `s` is a dotted-quad IPv4 address. */
export function isIpv4(s: string): boolean {
  return IPV4.test(s);
}

/** Whether `s` is an IPv6 address (loose check: hex groups and colons, at most one `::`). */
export function isIpv6(s: string): boolean {
  if (s.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(s) || !s.includes(":")) return false;
  if ((s.match(/::/g) ?? []).length > 1) return false;
  const groups = s.split(":");
  return groups.length >= 3 && groups.length <= 8 &&
    groups.every((g) => g.length <= 4 || isIpv4(g));
}

/** Whether `s` is a host (IP address or host name). */
export function isHost(s: string): boolean {
  return isIpv4(s) || isIpv6(s) || HostnameSchema.safeParse(s).success;
}

/** A host: an IPv4/IPv6 address or a host name. */
export const HostSchema = z.string().max(253).refine(isHost, {
  message: "must be an IP address or a host name",
});

/** Splits `host:port` (IPv6 hosts in brackets: `[::1]:4242`); undefined when malformed. */
export function splitHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const host = m[1] ?? m[2] ?? "";
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  if (m[1] !== undefined ? !isIpv6(host) : !isHost(host)) return undefined;
  return { host, port };
}

/** `host:port` with a port in 1..65535; IPv6 hosts in brackets. */
export const HostPortSchema = z.string().max(262).refine((s) => splitHostPort(s) !== undefined, {
  message: "must be host:port with a port in 1..65535 (IPv6 hosts in brackets)",
});

/** Parses an IPv4 CIDR `a.b.c.d/n`; undefined when malformed or when host bits are set. */
export function parseCidr(s: string): { address: number; prefixBits: number } | undefined {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(s);
  if (!m || !isIpv4(m[1]!)) return undefined;
  const prefixBits = Number(m[2]);
  if (prefixBits > 32) return undefined;
  const address = m[1]!.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
  const hostBits = 32 - prefixBits;
  if (hostBits > 0 && address % 2 ** hostBits !== 0) return undefined;
  return { address, prefixBits };
}

/** An IPv4 network in CIDR notation with no host bits set, e.g. `10.240.0.0/16`. */
export const CidrSchema = z.string().max(18).refine((s) => parseCidr(s) !== undefined, {
  message: "must be an IPv4 network in CIDR notation with no host bits set, e.g. 10.240.0.0/16",
});

/** An absolute, normalized file system path (no `.`/`..` segments, no NUL), at most 4096 bytes. */
export const AbsolutePathSchema = z
  .string()
  .max(4096, "must be at most 4096 characters")
  .refine(
    (p) =>
      p.startsWith("/") && !p.includes("\0") &&
      p.split("/").every((seg) => seg !== "." && seg !== ".."),
    { message: "must be an absolute path without '.' or '..' segments" },
  );

/** A base64 string (standard alphabet, padded). */
export const Base64Schema = z
  .string()
  .regex(/^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, "must be base64");
