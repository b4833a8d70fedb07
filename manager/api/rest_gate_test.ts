import assert from "node:assert/strict";
import { Hono } from "hono";
import { isLoopback, restHandler } from "./rest.ts";

const info = (hostname: string): Deno.ServeHandlerInfo => ({
  remoteAddr: { transport: "tcp", hostname, port: 40000 },
  completed: Promise.resolve(),
});

Deno.test("rest: /v1 answers loopback clients only; health, ready and metrics answer anyone", async () => {
  const app = new Hono();
  app.get("/v1/services", (c) => c.json([]));
  app.post("/v1/services", (c) => c.json({}, 201));
  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/metrics", (c) => c.text("x 1"));
  const handle = restHandler(app);
  const req = (path: string, method = "GET") => new Request(`http://m:4242${path}`, { method });

  for (const remote of ["10.0.0.7", "192.168.1.2", "fd00::1", "::ffff:10.1.1.1"]) {
    for (const [path, method] of [["/v1/services", "GET"], ["/v1/services", "POST"]]) {
      const res = await handle(req(path, method), info(remote));
      assert.equal(res.status, 403, `${method} ${path} from ${remote}`);
      const body = await res.json();
      assert.equal(body.error.code, "permission_denied");
      assert.match(body.error.message, /only on loopback/);
    }
    assert.equal((await handle(req("/health"), info(remote))).status, 200);
    assert.equal((await handle(req("/metrics"), info(remote))).status, 200);
  }
  for (const local of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) {
    assert.equal((await handle(req("/v1/services", "POST"), info(local))).status, 201, local);
  }
});

Deno.test("rest: isLoopback", () => {
  assert.ok(isLoopback("127.0.0.1") && isLoopback("[::1]") && isLoopback("::ffff:127.0.0.2"));
  assert.ok(!isLoopback("128.0.0.1") && !isLoopback("::2") && !isLoopback("1127.0.0.1"));
});
