import assert from "node:assert/strict";
import { HealthCheckSchema } from "../proto/schema/mod.ts";
import { FakeRuntime } from "../runtime/fake.ts";
import { makeProbe } from "./probes.ts";

const check = (c: Record<string, unknown>) => HealthCheckSchema.parse(c);

Deno.test("probes: http checks the status range against a real server on 127.0.0.1", async () => {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/health"
        ? new Response("ok")
        : new Response("no", { status: 503 }),
  );
  try {
    const port = server.addr.port;
    const target = { runtime: new FakeRuntime(), containerId: "x", host: "127.0.0.1" };
    const ok = makeProbe(check({ type: "http", http: { port, path: "/health" } }), target);
    assert.deepEqual(await ok(new AbortController().signal), { ok: true });
    const bad = makeProbe(check({ type: "http", http: { port, path: "/" } }), target);
    const r = await bad(new AbortController().signal);
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, /answered 503, outside 200-399/);
    const tcp = makeProbe(check({ type: "tcp", tcp: { port } }), target);
    assert.deepEqual(await tcp(new AbortController().signal), { ok: true });
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("probes: tcp to a closed port fails; exec runs inside the container", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const runtime = new FakeRuntime({
    images: [{ ref: "fake.local/a:1", config: { cmd: ["sleep"] } }],
  });
  const target = { runtime, containerId: "c1", host: "127.0.0.1" };
  const tcp = makeProbe(check({ type: "tcp", tcp: { port } }), target);
  const r = await tcp(new AbortController().signal);
  assert.equal(r.ok, false);
  assert.match((r as { error: string }).error, new RegExp(`connect to 127.0.0.1:${port} failed`));

  await runtime.pull("fake.local/a:1");
  await runtime.prepare({ taskId: "c1", image: "fake.local/a:1" });
  await runtime.start("c1");
  const yes = makeProbe(check({ type: "exec", exec: { command: ["true"] } }), target);
  assert.deepEqual(await yes(new AbortController().signal), { ok: true });
  const no = makeProbe(check({ type: "exec", exec: { command: ["cat", "/nope"] } }), target);
  const bad = await no(new AbortController().signal);
  assert.equal(bad.ok, false);
  assert.match((bad as { error: string }).error, /cat \/nope exited with code 1/);
  await runtime.remove("c1");
});
