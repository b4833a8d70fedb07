/**
 * The host's upstream resolvers, from /etc/resolv.conf, for the node resolver to forward the
 * names it does not own (IPv4 and IPv6 nameservers: an IPv6-only host lists only the latter); the
 * resolver's own address is skipped so a host whose resolv.conf points at Warren does not loop.
 * @module
 */
import { isIpv4, isIpv6 } from "../../proto/schema/common.ts";

/** A resolver to forward to. */
export interface Upstream {
  ip: string;
  port: number;
}

/** The `nameserver` addresses of a resolv.conf text, IPv6 ones with their `%zone` (pure). */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const m = /^nameserver\s+(\S+)$/.exec(line);
    if (!m) continue;
    const [ip, zone] = m[1]!.split("%");
    if (isIpv4(ip!) || (isIpv6(ip!) && (zone === undefined || /^[\w.-]+$/.test(zone)))) {
      out.push(m[1]!);
    }
  }
  return out;
}

/** Parses `ip` or `ip:port` (default port 53). */
export function parseUpstream(s: string): Upstream {
  const [ip, port] = s.split(":");
  return { ip: ip!, port: port ? Number(port) : 53 };
}

/**
 * The upstreams from `path` (default /etc/resolv.conf) except `self` (the resolver's own
 * `ip:port`s). A missing file means none.
 */
export async function hostUpstreams(
  self: Upstream[],
  path = "/etc/resolv.conf",
): Promise<Upstream[]> {
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return parseResolvConf(text)
    .map((ip) => ({ ip, port: 53 }))
    .filter((u) => !self.some((s) => s.ip === u.ip && s.port === u.port));
}
