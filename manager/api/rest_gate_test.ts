import assert from "node:assert/strict";
import { Hono } from "hono";
import { isLoopback, restHandler } from "./rest.ts";

const info = (hostname: string): Deno.ServeHandlerInfo => ({
  remoteAddr: { transport: "tcp", hostname, port: 40000 },
  completed: Promise.resolve(),
});

function apps() {
  const full = new Hono();
  full.get("/v1/secrets", (c) => c.json({ secrets: ["db"] }));
  full.post("/v1/services", (c) => c.json({}, 201));
  full.get("/health", (c) => c.json({ status: "ok" }));
  const pub = new Hono();
  pub.get("/health", (c) => c.json({ status: "ok" }));
  pub.get("/metrics", (c) => c.text("x 1"));
  pub.notFound((c) =>
    (c.env as { local?: boolean }).local
      ? c.json({ error: { code: "unauthenticated" } }, 401)
      : c.json({ error: { code: "permission_denied" } }, 403)
  );
  return restHandler(full, pub, TOKEN);
}

const TOKEN = "0123456789abcdef0123456789abcdef";
const BEARER = { authorization: `Bearer ${TOKEN}` };

Deno.test("rest: /v1 answers local tools only; health and metrics answer anyone", async () => {
  const handle = apps();
  const req = (path: string, init: RequestInit = {}) => new Request(`http://m:4242${path}`, init);
  for (const remote of ["10.0.0.7", "192.168.1.2", "fd00::1", "::ffff:10.1.1.1"]) {
    for (const [path, method] of [["/v1/secrets", "GET"], ["/v1/services", "POST"]]) {
      const res = await handle(req(path, { method }), info(remote));
      assert.equal(res.status, 403, `${method} ${path} from ${remote}`);
      await res.body?.cancel();
    }
    assert.equal((await handle(req("/health"), info(remote))).status, 200);
    assert.equal((await handle(req("/metrics"), info(remote))).status, 200);
  }
  for (const local of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) {
    const r = new Request("http://127.0.0.1:4242/v1/services", {
      method: "POST",
      headers: { host: "127.0.0.1:4242", ...BEARER },
    });
    assert.equal((await handle(r, info(local))).status, 201, local);
  }
});

Deno.test("rest: a local tool needs the manager's token; health and metrics do not", async () => {
  const handle = apps();
  const local = info("127.0.0.1");
  const asked = (path: string, headers: Record<string, string>) =>
    handle(new Request(`http://127.0.0.1:4242${path}`, { headers }), local);
  for (
    const headers of [
      {} as Record<string, string>,
      { authorization: "Bearer nope" },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: TOKEN },
      { authorization: `Basic ${TOKEN}` },
    ]
  ) {
    const res = await asked("/v1/secrets", headers);
    assert.equal(res.status, 401, JSON.stringify(headers));
    await res.body?.cancel();
  }
  assert.equal((await asked("/v1/secrets", BEARER)).status, 200);
  assert.equal((await asked("/health", {})).status, 200);
  assert.equal((await asked("/metrics", {})).status, 200);
  // The token does not open the API to a remote caller.
  const remote = await handle(
    new Request("http://m:4242/v1/secrets", { headers: BEARER }),
    info("10.0.0.7"),
  );
  assert.equal(remote.status, 403);
  await remote.body?.cancel();
});

Deno.test("rest: the gate is not fooled by encoded paths, odd hosts or browsers", async () => {
  const handle = apps();
  const remote = info("10.0.0.7");
  const local = info("127.0.0.1");
  // What the router decodes is not what the gate must judge: the whole app is chosen instead.
  for (const url of ["http://m/%76%31/secrets", "http://m/V1/secrets", "http://a?/v1/secrets"]) {
    const res = await handle(new Request(url), remote);
    assert.equal(res.status, 403, url);
    await res.body?.cancel();
  }
  const asked = (headers: Record<string, string>) =>
    handle(
      new Request("http://localhost:4242/v1/secrets", { headers: { ...headers, ...BEARER } }),
      local,
    );
  // DNS rebinding: a loopback socket, but a foreign Host.
  assert.equal((await asked({ host: "evil.example:4242" })).status, 403);
  assert.equal((await asked({ host: "a?" })).status, 403);
  // A web page in a browser on the manager host.
  assert.equal(
    (await asked({ host: "localhost:4242", origin: "https://evil.example" })).status,
    403,
  );
  assert.equal((await asked({ host: "127.0.0.1", "sec-fetch-site": "cross-site" })).status, 403);
  // curl on the host.
  assert.equal((await asked({ host: "localhost:4242" })).status, 200);
  assert.equal((await asked({ host: "[::1]:4242" })).status, 200);
});

Deno.test("rest: isLoopback", () => {
  assert.ok(isLoopback("127.0.0.1") && isLoopback("[::1]") && isLoopback("::ffff:127.0.0.2"));
  assert.ok(!isLoopback("128.0.0.1") && !isLoopback("::2") && !isLoopback("1127.0.0.1"));
});
