/**
 * The host's upstream resolvers, from /etc/resolv.conf, for the node resolver to forward the
 * names it does not own. IPv4 nameservers only; the resolver's own address is skipped so a
 * host whose resolv.conf points at Warren does not loop.
 * @module
 */

/** A resolver to forward to. */
export interface Upstream {
  ip: string;
  port: number;
}

/** The IPv4 `nameserver` entries of a resolv.conf text (pure). */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const m = /^nameserver\s+(\d{1,3}(?:\.\d{1,3}){3})$/.exec(line);
    if (m) out.push(m[1]!);
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
