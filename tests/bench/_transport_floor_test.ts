import assert from "node:assert/strict";
import { createRootCa } from "../../manager/security/ca.ts";
import { issueTestCert } from "../../manager/security/_certs_test_util.ts";
import { MANAGER_SERVER_NAME } from "../../net/grpc/tls.ts";
import { openFloorHttp2, startFloorServer, tlsExchanges } from "./_transport_floor.ts";

async function material() {
  const ca = await createRootCa({ clusterId: "c1", lifetimeMs: 3_600_000, now: Date.now() });
  return {
    server: await issueTestCert(ca, "m1", "manager"),
    client: await issueTestCert(ca, "admin1", "admin"),
  };
}

Deno.test("transport floor: TLS and HTTP/2 exchanges carry the sizes asked for, under mutual TLS", async () => {
  const { server, client } = await material();
  await using floor = await startFloorServer(server);
  const opts = { n: 5, warmup: 2, requestBytes: 100, replyBytes: 200_000 };
  const h2 = await openFloorHttp2(floor.http2Port, client, MANAGER_SERVER_NAME);
  const measured = [
    await tlsExchanges(floor.tlsPort, client, MANAGER_SERVER_NAME, opts),
    await h2.exchanges(opts),
    await h2.exchanges({ ...opts, replyBytes: 0 }),
  ];
  h2.close();
  for (const ms of measured) {
    assert.equal(ms.length, 5);
    assert.ok(ms.every((x) => x > 0 && Number.isFinite(x)), ms.join(","));
  }
});

Deno.test("transport floor: a client without a certificate of the cluster CA is refused", async () => {
  const { server } = await material();
  const { client: stranger } = await material();
  await using floor = await startFloorServer(server);
  const opts = { n: 1, warmup: 0, requestBytes: 10, replyBytes: 10 };
  await assert.rejects(async () => {
    const h2 = await openFloorHttp2(
      floor.http2Port,
      { ...stranger, caPem: server.caPem },
      MANAGER_SERVER_NAME,
    );
    try {
      await h2.exchanges(opts);
    } finally {
      h2.close();
    }
  });
  await assert.rejects(
    tlsExchanges(floor.tlsPort, { ...stranger, caPem: server.caPem }, MANAGER_SERVER_NAME, opts),
  );
});
