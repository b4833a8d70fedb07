import assert from "node:assert/strict";
// @ts-types="@types/dns-packet"
import * as dnsPacket from "dns-packet";
import type { ServiceEndpoint } from "../../proto/schema/mod.ts";
import { buildRecords, decide, fitUdp, localName } from "./records.ts";

const endpoints: ServiceEndpoint[] = [
  {
    serviceId: "s1",
    name: "web",
    vip: "10.96.0.2",
    endpointMode: "vip",
    ports: [],
    taskIps: ["10.240.1.2", "10.240.2.2"],
  },
  {
    serviceId: "s2",
    name: "db",
    endpointMode: "dnsrr",
    ports: [],
    taskIps: ["10.240.1.3", "10.240.2.3", "10.240.3.3"],
  },
];
const records = buildRecords(endpoints);

/** The decoded rcode (dns-packet decodes it; its types omit it). */
function rcode(p: dnsPacket.Packet): string | undefined {
  return (dnsPacket.decode(dnsPacket.encode(p)) as { rcode?: string }).rcode;
}

function query(name: string, type: dnsPacket.RecordType = "A"): dnsPacket.Packet {
  // Through the wire format, as the server sees it.
  return dnsPacket.decode(dnsPacket.encode({
    type: "query",
    id: 42,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name }],
  }));
}

function ips(d: ReturnType<typeof decide>): string[] {
  assert.equal(d.kind, "answer");
  return (d.kind === "answer" ? d.response.answers ?? [] : []).map((a) =>
    "data" in a ? String(a.data) : ""
  );
}

Deno.test("DNS: service and service.warren → VIP; tasks.service → task IPs; TTL 1", () => {
  assert.deepEqual(ips(decide(records, query("web"))), ["10.96.0.2"]);
  assert.deepEqual(ips(decide(records, query("WEB.warren."))), ["10.96.0.2"]);
  assert.deepEqual(ips(decide(records, query("tasks.web"))), ["10.240.1.2", "10.240.2.2"]);
  assert.deepEqual(ips(decide(records, query("tasks.web.warren"))), ["10.240.1.2", "10.240.2.2"]);
  const d = decide(records, query("web"));
  assert.ok(d.kind === "answer");
  assert.equal(d.response.id, 42);
  assert.equal((d.response.answers![0] as { ttl: number }).ttl, 1);
  // The response encodes and is authoritative with recursion flags copied.
  const wire = dnsPacket.decode(dnsPacket.encode(d.response));
  assert.equal(wire.flag_aa, true);
  assert.equal(wire.flag_rd, true);
  assert.equal(rcode(d.response), "NOERROR");
});

Deno.test("DNS: dnsrr service → task IPs, rotated per query", () => {
  assert.deepEqual(ips(decide(records, query("db"), 0)), [
    "10.240.1.3",
    "10.240.2.3",
    "10.240.3.3",
  ]);
  assert.deepEqual(ips(decide(records, query("db"), 1)), [
    "10.240.2.3",
    "10.240.3.3",
    "10.240.1.3",
  ]);
});

Deno.test("DNS: unknown .warren is NXDOMAIN, other names forward, AAAA of a service is empty", () => {
  const nx = decide(records, query("nope.warren"));
  assert.ok(nx.kind === "answer");
  assert.equal(rcode(nx.response), "NXDOMAIN");
  assert.deepEqual(decide(records, query("example.com")), { kind: "forward" });
  assert.deepEqual(decide(records, query("tasks.unknown")), { kind: "forward" });
  assert.deepEqual(ips(decide(records, query("web", "AAAA"))), []);
});

Deno.test("DNS: a service without a VIP yet answers its task IPs", () => {
  const r = buildRecords([{ ...endpoints[0]!, vip: undefined }]);
  assert.deepEqual(r.get("web"), ["10.240.1.2", "10.240.2.2"]);
  assert.deepEqual(localName("a.b.warren"), { name: "a.b", inDomain: true });
});

Deno.test("DNS: a UDP answer too big for 512 bytes is cut to whole records with TC set", () => {
  const many = Array.from({ length: 100 }, (_, i) => `10.240.${i >> 6}.${(i & 63) + 2}`);
  const r = buildRecords([{ ...endpoints[1]!, taskIps: many }]);
  const d = decide(r, query("tasks.db"));
  assert.ok(d.kind === "answer");
  const udp = fitUdp(d.response);
  const wire = dnsPacket.encode(udp);
  assert.ok(wire.length <= 512, `${wire.length} bytes`);
  const decoded = dnsPacket.decode(wire);
  assert.equal(decoded.flag_tc, true);
  assert.ok(decoded.answers!.length >= 15, `${decoded.answers!.length} answers kept`);
  // What fits is left alone.
  const small = decide(records, query("tasks.web"));
  assert.ok(small.kind === "answer");
  assert.equal(dnsPacket.decode(dnsPacket.encode(fitUdp(small.response))).flag_tc, false);
});
