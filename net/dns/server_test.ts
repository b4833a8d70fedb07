/**
 * The resolver on loopback with a real second resolver as its upstream: cluster names over UDP
 * and TCP, forwarding, SERVFAIL without upstreams, answers following the endpoints at once.
 */
import assert from "node:assert/strict";
// @ts-types="@types/dns-packet"
import * as dnsPacket from "dns-packet";
import { Buffer } from "node:buffer";
import dgram from "node:dgram";
import type { ServiceEndpoint } from "../../proto/schema/mod.ts";
import { measureDnsLookupMs, queryDns } from "./query.ts";
import { DnsServer } from "./server.ts";
import { hostUpstreams } from "./upstreams.ts";

const web: ServiceEndpoint = {
  serviceId: "s1",
  name: "web",
  vip: "10.96.0.2",
  endpointMode: "vip",
  ports: [],
  taskIps: ["10.240.1.2", "10.240.2.2"],
};

async function pair() {
  // The "host upstream": another resolver that owns a service named "outside".
  const upstream = await DnsServer.start({ hostname: "127.0.0.1", port: 0, upstreams: [] });
  upstream.setEndpoints([{ ...web, serviceId: "s9", name: "outside", vip: "192.0.2.7" }]);
  const node = await DnsServer.start({
    hostname: "127.0.0.1",
    port: 0,
    upstreams: [{ ip: "127.0.0.1", port: upstream.port }],
  });
  node.setEndpoints([web]);
  return {
    node,
    upstream,
    async [Symbol.asyncDispose]() {
      await node.close();
      await upstream.close();
    },
  };
}

Deno.test("DnsServer: service, service.warren, tasks.service over UDP and TCP; forwards others", async () => {
  await using p = await pair();
  const o = { server: "127.0.0.1", port: p.node.port };
  for (const transport of ["udp", "tcp"] as const) {
    const a = await queryDns("web", { ...o, transport });
    assert.deepEqual(a.addresses, ["10.96.0.2"]);
    assert.deepEqual(a.ttls, [1]);
    assert.ok(a.authoritative);
    assert.deepEqual((await queryDns("web.warren", { ...o, transport })).addresses, ["10.96.0.2"]);
    assert.deepEqual(
      (await queryDns("tasks.web", { ...o, transport })).addresses.sort(),
      ["10.240.1.2", "10.240.2.2"],
    );
    const fwd = await queryDns("outside", { ...o, transport });
    assert.deepEqual(fwd.addresses, ["192.0.2.7"], `forwarded over ${transport}`);
    assert.equal((await queryDns("nope.warren", { ...o, transport })).rcode, "NXDOMAIN");
  }
});

Deno.test("DnsServer: answers follow setEndpoints immediately", async () => {
  await using p = await pair();
  const o = { server: "127.0.0.1", port: p.node.port };
  p.node.setEndpoints([{ ...web, endpointMode: "dnsrr", taskIps: ["10.240.1.2"] }]);
  assert.deepEqual((await queryDns("web", o)).addresses, ["10.240.1.2"]);
  p.node.setEndpoints([]);
  assert.equal((await queryDns("web.warren", o)).rcode, "NXDOMAIN");
});

Deno.test("DnsServer: SERVFAIL when no upstream answers", async () => {
  const s = await DnsServer.start({
    hostname: "127.0.0.1",
    port: 0,
    upstreams: [{ ip: "127.0.0.1", port: 9 }],
    forwardTimeoutMs: 200,
  });
  try {
    assert.equal(
      (await queryDns("example.org", { server: "127.0.0.1", port: s.port })).rcode,
      "SERVFAIL",
    );
  } finally {
    await s.close();
  }
});

Deno.test("measureDnsLookupMs: p50 ≤ p99, a few ms on loopback", async () => {
  await using p = await pair();
  const stats = await measureDnsLookupMs("web", {
    server: "127.0.0.1",
    port: p.node.port,
    count: 200,
  });
  assert.equal(stats.count, 200);
  assert.ok(stats.dns_lookup_ms_p50 <= stats.dns_lookup_ms_p99);
  assert.ok(stats.dns_lookup_ms_p99 < 100, JSON.stringify(stats));
});

Deno.test("DnsServer: tasks.<svc> of a big service fits UDP with TC set; TCP has every task", async () => {
  await using p = await pair();
  const many = Array.from({ length: 60 }, (_, i) => `10.240.1.${i + 2}`);
  p.node.setEndpoints([{ ...web, taskIps: many }]);
  const q = dnsPacket.encode({
    type: "query",
    id: 9,
    questions: [{ type: "A", name: "tasks.web" }],
  });
  const sock = dgram.createSocket("udp4");
  const raw = await new Promise<Uint8Array>((resolve) => {
    sock.on("message", (m) => resolve(new Uint8Array(m)));
    sock.send(q, p.node.port, "127.0.0.1");
  });
  await new Promise<void>((r) => sock.close(() => r()));
  assert.ok(raw.length <= 512, `a ${raw.length}-byte UDP answer`);
  assert.equal(dnsPacket.decode(Buffer.from(raw)).flag_tc, true);
  const tcp = await queryDns("tasks.web", {
    server: "127.0.0.1",
    port: p.node.port,
    transport: "tcp",
  });
  assert.equal(tcp.addresses.length, 60);
});

Deno.test("DnsServer: forwards to an IPv6 upstream (a host whose resolv.conf lists only IPv6)", async () => {
  // A minimal IPv6 upstream: answers every query with 192.0.2.6.
  const up = dgram.createSocket("udp6");
  await new Promise<void>((r) => up.bind(0, "::1", () => r()));
  up.on("message", (m, rinfo) => {
    const q = dnsPacket.decode(m);
    up.send(
      dnsPacket.encode({
        type: "response",
        id: q.id,
        questions: q.questions,
        answers: [{ type: "A", name: q.questions![0]!.name, ttl: 5, data: "192.0.2.6" }],
      }),
      rinfo.port,
      rinfo.address,
    );
  });
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/resolv.conf`, "nameserver ::1\n");
  const [upstream] = await hostUpstreams([], `${dir}/resolv.conf`);
  assert.ok(upstream, "the IPv6 nameserver is an upstream");
  const s = await DnsServer.start({
    hostname: "127.0.0.1",
    port: 0,
    upstreams: [{ ...upstream, port: (up.address() as { port: number }).port }],
    forwardTimeoutMs: 500,
  });
  try {
    const r = await queryDns("example.org", { server: "127.0.0.1", port: s.port });
    assert.deepEqual(r.addresses, ["192.0.2.6"]);
  } finally {
    await s.close();
    await new Promise<void>((r) => up.close(() => r()));
    await Deno.remove(dir, { recursive: true });
  }
});
