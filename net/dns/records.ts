/**
 * The node resolver's own zone, as pure functions: which names the service endpoints define and
 * how a query about them is answered.
 *
 * | name                                        | answer (A, TTL 1 s)                           |
 * | ------------------------------------------- | --------------------------------------------- |
 * | `<service>`, `<service>.warren`             | the VIP; task IPs for dnsrr (or no VIP yet)    |
 * | `tasks.<service>`, `tasks.<service>.warren` | the IPs of the service's running tasks        |
 * | any other `*.warren`                        | NXDOMAIN (authoritative)                      |
 * | anything else                               | forwarded to the host's upstream resolvers    |
 *
 * Known names answer AAAA and other types with no records (NOERROR), so clients fall back to A.
 * Task IP lists are rotated per query so naive clients that take the first address spread out.
 * The 1 s TTL makes caches follow task changes within about a second.
 * @module
 */
// @ts-types="@types/dns-packet"
import * as dnsPacket from "dns-packet";
import type { ServiceEndpoint } from "../../proto/schema/mod.ts";

/** The cluster's DNS domain. */
export const CLUSTER_DOMAIN = "warren";
/** TTL of every answer Warren makes, seconds. */
export const ANSWER_TTL_S = 1;

/** Lowercase name (no trailing dot) → IPv4 addresses. */
export type DnsRecords = Map<string, string[]>;

/** The records the endpoints define (pure). */
export function buildRecords(endpoints: readonly ServiceEndpoint[]): DnsRecords {
  const out: DnsRecords = new Map();
  for (const ep of endpoints) {
    const name = ep.name.toLowerCase();
    const tasks = [...new Set(ep.taskIps)];
    const service = ep.endpointMode === "vip" && ep.vip !== undefined ? [ep.vip] : tasks;
    out.set(name, service);
    out.set(`tasks.${name}`, tasks);
  }
  return out;
}

/** What to do with a query. */
export type DnsDecision =
  | { kind: "answer"; response: dnsPacket.Packet }
  | { kind: "forward" };

/** Strips a trailing dot, lowercases, and removes the cluster domain suffix if present. */
export function localName(qname: string): { name: string; inDomain: boolean } {
  const n = qname.toLowerCase().replace(/\.$/, "");
  if (n === CLUSTER_DOMAIN) return { name: "", inDomain: true };
  if (n.endsWith(`.${CLUSTER_DOMAIN}`)) {
    return { name: n.slice(0, -CLUSTER_DOMAIN.length - 1), inDomain: true };
  }
  return { name: n, inDomain: false };
}

/**
 * Answers `query` from `records`, or says to forward it (pure). `rotate` shifts multi-address
 * answers (pass a counter).
 */
export function decide(records: DnsRecords, query: dnsPacket.Packet, rotate = 0): DnsDecision {
  const q = query.questions?.[0];
  if (!q || query.type === "response") return { kind: "answer", response: reply(query, 1, []) };
  const { name, inDomain } = localName(q.name);
  const ips = records.get(name);
  if (!ips) {
    return inDomain ? { kind: "answer", response: reply(query, 3, []) } : { kind: "forward" };
  }
  // dns-packet's types omit ANY (255), which it decodes all the same.
  if (q.type !== "A" && (q.type as string) !== "ANY") {
    return { kind: "answer", response: reply(query, 0, []) };
  }
  const shift = ips.length > 1 ? rotate % ips.length : 0;
  const ordered = [...ips.slice(shift), ...ips.slice(0, shift)];
  return {
    kind: "answer",
    response: reply(
      query,
      0,
      ordered.map((ip) => ({
        type: "A" as const,
        name: q.name,
        class: "IN" as const,
        ttl: ANSWER_TTL_S,
        data: ip,
      })),
    ),
  };
}

/**
 * Largest DNS message over UDP for a client that did not negotiate more (RFC 1035 §4.2.1). This
 * resolver does not speak EDNS, so it is every client's limit; musl reads no more than this.
 */
export const UDP_MAX_BYTES = 512;

/**
 * `response` as it may go over UDP (pure): when its wire form exceeds `maxBytes`, answers are
 * dropped from the end until it fits and TC is set, so the client may ask again over TCP
 * (RFC 2181 §9). A response that fits is returned as it is.
 */
export function fitUdp(response: dnsPacket.Packet, maxBytes = UDP_MAX_BYTES): dnsPacket.Packet {
  if (dnsPacket.encodingLength(response) <= maxBytes) return response;
  const all = response.answers ?? [];
  const flags = (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE;
  const withFirst = (n: number) => ({ ...response, flags, answers: all.slice(0, n) });
  // The most answers that fit (a task list may be thousands long: bisect, do not pop).
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (dnsPacket.encodingLength(withFirst(mid)) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  return withFirst(lo);
}

/** A response to `query` with `rcode` (0 NOERROR, 1 FORMERR, 2 SERVFAIL, 3 NXDOMAIN). */
export function reply(
  query: dnsPacket.Packet,
  rcode: number,
  answers: dnsPacket.Answer[],
): dnsPacket.Packet {
  const rd = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  const aa = rcode === 0 || rcode === 3 ? dnsPacket.AUTHORITATIVE_ANSWER : 0;
  return {
    type: "response",
    id: query.id ?? 0,
    flags: aa | rd | dnsPacket.RECURSION_AVAILABLE | rcode,
    questions: query.questions ?? [],
    answers,
  };
}
