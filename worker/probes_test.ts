import assert from "node:assert/strict";
import { HealthCheckSchema } from "../proto/schema/mod.ts";
import { FakeRuntime } from "../runtime/fake.ts";
import type { ExecSession, Runtime, Signal } from "../runtime/runtime.ts";
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

/** A runtime whose exec processes hang until killed (a check stuck on a dead dependency). */
function hangingExec() {
  const started = Promise.withResolvers<void>();
  const killed = Promise.withResolvers<Signal>();
  const running = { count: 0 };
  const runtime = {
    exec: () => new Promise(() => {}),
    execStream: () => {
      const exit = Promise.withResolvers<number>();
      running.count++;
      const output = () =>
        new ReadableStream<Uint8Array>({ start: (c) => void exit.promise.then(() => c.close()) });
      const session: ExecSession = {
        stdin: new WritableStream({ close: () => started.resolve() }),
        stdout: output(),
        stderr: output(),
        exited: exit.promise,
        kill: (sig) => {
          running.count--;
          exit.resolve(137);
          killed.resolve(sig ?? "SIGKILL");
          return Promise.resolve();
        },
        resize: () => Promise.resolve(),
      };
      return Promise.resolve(session);
    },
  } as unknown as Runtime;
  return { runtime, started: started.promise, killed: killed.promise, running };
}

Deno.test("probes: an exec check that times out is killed, not left running", async () => {
  const exec = check({ type: "exec", exec: { command: ["wget", "-q", "http://db/"] } });
  const h = hangingExec();
  const probe = makeProbe(exec, { runtime: h.runtime, containerId: "c1", host: "127.0.0.1" });
  const timeout = new AbortController();
  const result = probe(timeout.signal);
  await h.started;
  timeout.abort(new Error("timeout"));
  assert.deepEqual(await result, { ok: false, error: "wget -q http://db/ failed: timed out" });
  assert.equal(await h.killed, "SIGKILL");
  assert.equal(h.running.count, 0);

  // Timed out before the process was even started: killed once it is.
  const h2 = hangingExec();
  const probe2 = makeProbe(exec, { runtime: h2.runtime, containerId: "c1", host: "127.0.0.1" });
  const timeout2 = new AbortController();
  const result2 = probe2(timeout2.signal);
  timeout2.abort(new Error("timeout"));
  assert.equal((await result2).ok, false);
  assert.equal(await h2.killed, "SIGKILL");
  assert.equal(h2.running.count, 0);
});
