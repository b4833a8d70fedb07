/**
 * A minimal DNS client (UDP or TCP, one question) and the `dns_lookup_ms` measurement the
 * benchmarks report: sequential A lookups against a resolver, latency percentiles in ms.
 * @module
 */
// @ts-types="@types/dns-packet"
import * as dnsPacket from "dns-packet";
import { Buffer } from "node:buffer";
import dgram from "node:dgram";
import { DeadlineExceededError } from "../../proto/errors.ts";

/** Options of {@link queryDns}. */
export interface QueryOptions {
  server: string;
  port?: number;
  type?: dnsPacket.RecordType;
  transport?: "udp" | "tcp";
  timeoutMs?: number;
}

/** What a lookup returned. */
export interface QueryResult {
  rcode: string;
  /** Addresses of the A answers, in order. */
  addresses: string[];
  ttls: number[];
  authoritative: boolean;
}

/** Asks `server` about `name`. @throws DeadlineExceededError without a reply in time */
export async function queryDns(name: string, o: QueryOptions): Promise<QueryResult> {
  const id = Math.floor(Math.random() * 65536);
  const q = dnsPacket.encode({
    type: "query",
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: o.type ?? "A", name }],
  });
  const timeoutMs = o.timeoutMs ?? 2_000;
  const raw = o.transport === "tcp"
    ? await tcpExchange(q, o.server, o.port ?? 53, timeoutMs)
    : await udpExchange(q, o.server, o.port ?? 53, timeoutMs);
  const res = dnsPacket.decode(Buffer.from(raw)) as dnsPacket.DecodedPacket & { rcode?: string };
  const a = (res.answers ?? []).filter((x) => x.type === "A") as { data: string; ttl?: number }[];
  return {
    rcode: res.rcode ?? "NOERROR",
    addresses: a.map((x) => x.data),
    ttls: a.map((x) => x.ttl ?? 0),
    authoritative: res.flag_aa ?? false,
  };
}

function udpExchange(q: Uint8Array, host: string, port: number, timeoutMs: number) {
  return new Promise<Uint8Array>((resolve, reject) => {
    const sock = dgram.createSocket("udp4");
    const timer = setTimeout(
      () => done(new DeadlineExceededError(`no DNS reply from ${host}:${port} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const done = (err?: Error, msg?: Uint8Array) => {
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(msg!);
    };
    sock.on("error", (err) => done(err));
    sock.on("message", (m) => done(undefined, new Uint8Array(m)));
    sock.send(q, port, host);
  });
}

async function tcpExchange(q: Uint8Array, host: string, port: number, timeoutMs: number) {
  const conn = await Deno.connect({ hostname: host, port });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    const frame = new Uint8Array(q.length + 2);
    frame.set([q.length >> 8, q.length & 0xff]);
    frame.set(q, 2);
    await conn.write(frame);
    const chunks: number[] = [];
    const buf = new Uint8Array(4096);
    while (chunks.length < 2 || chunks.length < 2 + ((chunks[0]! << 8) | chunks[1]!)) {
      const n = await conn.read(buf);
      if (n === null) throw new DeadlineExceededError(`DNS over TCP: ${host}:${port} closed`);
      chunks.push(...buf.subarray(0, n));
    }
    return new Uint8Array(chunks.slice(2));
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed by the timer.
    }
  }
}

/** Latency percentiles of sequential lookups, ms. */
export interface DnsLookupStats {
  count: number;
  dns_lookup_ms_p50: number;
  dns_lookup_ms_p99: number;
}

/**
 * Bench helper: `count` sequential UDP A lookups of `name` (after 10 warm-up ones); every one
 * must succeed with an answer.
 */
export async function measureDnsLookupMs(
  name: string,
  o: QueryOptions & { count?: number },
): Promise<DnsLookupStats> {
  const count = o.count ?? 1_000;
  for (let i = 0; i < 10; i++) await queryDns(name, o);
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const r = await queryDns(name, o);
    ms.push(performance.now() - t0);
    if (r.rcode !== "NOERROR" || r.addresses.length === 0) {
      throw new Error(`lookup of ${name} failed during the measurement: ${r.rcode}`);
    }
  }
  ms.sort((a, b) => a - b);
  const pct = (p: number) => ms[Math.min(ms.length - 1, Math.ceil(p * ms.length) - 1)]!;
  return { count, dns_lookup_ms_p50: pct(0.5), dns_lookup_ms_p99: pct(0.99) };
}
