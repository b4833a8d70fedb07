import assert from "node:assert/strict";
import { headerValue, Http1Pool } from "./http1_pool.ts";

/** A Deno.serve server for the duration of `fn`, counting the connections it accepted. */
async function withServer(
  handler: (req: Request) => Response | Promise<Response>,
  fn: (pool: Http1Pool, stats: { conns: Set<string> }) => Promise<void>,
): Promise<void> {
  const stats = { conns: new Set<string>() };
  const ac = new AbortController();
  const srv = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req, info) => {
      stats.conns.add(`${info.remoteAddr.hostname}:${info.remoteAddr.port}`);
      return handler(req);
    },
  );
  const pool = new Http1Pool("127.0.0.1", srv.addr.port);
  try {
    await fn(pool, stats);
  } finally {
    pool.close();
    ac.abort();
    await srv.finished;
  }
}

Deno.test("http1 pool: POST with a JSON body, content-length answer, headers, reuse", async () => {
  await withServer(async (req) => {
    const body = await req.json();
    return Response.json({ echo: body, method: req.method, path: new URL(req.url).pathname }, {
      status: 201,
      headers: { "Server-Timing": "raft;dur=1.5" },
    });
  }, async (pool, stats) => {
    for (let i = 0; i < 3; i++) {
      const res = await pool.request("POST", "/put", JSON.stringify({ k: "ä", v: `${i}` }), 5_000);
      assert.deepEqual(res.status, 201);
      assert.deepEqual(JSON.parse(res.body), {
        echo: { k: "ä", v: `${i}` },
        method: "POST",
        path: "/put",
      });
      assert.deepEqual(headerValue(res.headers, "server-timing"), "raft;dur=1.5");
    }
    assert.deepEqual(stats.conns.size, 1, "one request at a time reuses one connection");
  });
});

Deno.test("http1 pool: concurrent calls open one connection each; chunked bodies", async () => {
  await withServer((req) => {
    const k = new URL(req.url).searchParams.get("k") ?? "";
    // A streamed body has no known length: Deno.serve sends it chunked.
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(`{"k":"${k}",`));
        c.enqueue(new TextEncoder().encode(`"pad":"${"x".repeat(40_000)}"}`));
        c.close();
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  }, async (pool, stats) => {
    const answers = await Promise.all(
      [1, 2, 3].map((k) => pool.request("GET", `/get?k=${k}`, undefined, 5_000)),
    );
    for (const [i, res] of answers.entries()) {
      assert.deepEqual(res.status, 200);
      const json = JSON.parse(res.body);
      assert.deepEqual(json.k, String(i + 1));
      assert.deepEqual(json.pad.length, 40_000);
    }
    assert.deepEqual(stats.conns.size, 3);
  });
});

Deno.test("http1 pool: a call with no answer in time fails and closes its connection", async () => {
  const release = Promise.withResolvers<void>();
  await withServer(async (req) => {
    if (new URL(req.url).pathname === "/slow") await release.promise;
    return Response.json({ ok: true });
  }, async (pool, stats) => {
    await assert.rejects(() => pool.request("GET", "/slow", undefined, 50), /within 50 ms/);
    release.resolve();
    const res = await pool.request("GET", "/fast", undefined, 5_000);
    assert.deepEqual(JSON.parse(res.body), { ok: true });
    assert.deepEqual(stats.conns.size, 2, "the timed-out connection is not reused");
  });
});

Deno.test("http1 pool: a refused connection throws; a closed pool refuses calls", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const pool = new Http1Pool("127.0.0.1", port);
  const err = await pool.request("GET", "/", undefined, 1_000).catch((e) => e);
  assert.ok(err instanceof Error);
  pool.close();
  await assert.rejects(() => pool.request("GET", "/", undefined, 1_000), /closed/);
});
