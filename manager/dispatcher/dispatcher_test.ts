import assert from "node:assert/strict";
import { Manager } from "../manager.ts";
import { write } from "../api/context.ts";
import { node } from "../state/_fixtures_test_util.ts";
import { WarrenClient } from "../../net/client/client.ts";
import { configureLogging } from "../../proto/log.ts";
import { UnauthenticatedError } from "../../proto/errors.ts";
import type { AssignmentsMessage, SecretData, Task } from "../../proto/schema/mod.ts";
import { encodeBase64 } from "../../proto/schema/mod.ts";

configureLogging({ level: "error" });

/** A single in-process manager on loopback ports (plain gRPC), in a fresh data directory. */
async function startManager(
  extra: Partial<Parameters<typeof Manager.start>[0]> = {},
): Promise<{ mgr: Manager; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "warren-dispatcher-" });
  const mgr = await Manager.start({
    dataDir: dir,
    apiAddr: "127.0.0.1:0",
    raftAddr: "127.0.0.1:0",
    httpAddr: "127.0.0.1:0",
    advertiseAddr: "127.0.0.1",
    init: { clusterName: "test" },
    insecure: true,
    tickMs: 10,
    ...extra,
  });
  return { mgr, dir };
}

/** Opens a worker session for node "w1", as its worker's Register does. */
function registerW1(mgr: Manager) {
  return mgr.dispatcher.register({
    nodeId: "w1",
    hostname: "w1",
    addresses: { advertise: "127.0.0.1" },
    resources: { nanoCpus: 1e9, memoryBytes: 1e9 },
    platform: { os: "linux", arch: "amd64" },
    version: "0.1.0",
  });
}

Deno.test("dispatcher: a send waiting for secrets is not overtaken by a later one", async () => {
  // The first resolution of secret "s1" waits until the test lets it go.
  let gate: PromiseWithResolvers<void> | undefined;
  const waiting = Promise.withResolvers<void>();
  const returned = Promise.withResolvers<void>();
  const { mgr, dir } = await startManager({
    dispatcher: {
      heartbeatPeriodMs: 200,
      batchMs: 5,
      resolveSecrets: async (names): Promise<SecretData[]> => {
        if (gate && names.includes("s1")) {
          const g = gate;
          gate = undefined;
          waiting.resolve();
          await g.promise;
          queueMicrotask(() => returned.resolve());
        }
        return names.map((name) => ({
          id: `id-${name}`,
          name,
          data: encodeBase64(new Uint8Array([1])),
        }));
      },
    },
  });
  const ac = new AbortController();
  try {
    mgr.orchestrator.stop(); // tasks are placed by hand
    using c = new WarrenClient({ managers: [mgr.apiAddress] });
    const at = Date.now();
    await write(mgr.ctx, {
      kind: "node.register",
      at,
      node: {
        ...node("w1", at),
        hostname: "w1",
        resources: { nanoCpus: 1e9, memoryBytes: 1e9 },
        status: { state: "unknown", message: "", lastHeartbeatAt: 0 },
      },
    });
    await c.secrets.create({ name: "s1", data: new Uint8Array([1]) });
    const a = await c.services.create({
      name: "a",
      image: "registry.local/a:1",
      replicas: 1,
      secrets: [{ secret: "s1" }],
    });
    const b = await c.services.create({ name: "b", image: "registry.local/b:1", replicas: 1 });
    const { sessionId } = await registerW1(mgr);
    // What the worker holds: the assignments of every message applied in order.
    const held = new Set<string>();
    const changed = new EventTarget();
    const apply = (m: AssignmentsMessage) => {
      if (m.complete) held.clear();
      for (const id of m.removedTaskIds) held.delete(id);
      for (const x of m.assignments) held.add(x.task.id);
      changed.dispatchEvent(new Event("change"));
    };
    const reading = (async () => {
      for await (const m of mgr.dispatcher.assignments("w1", sessionId, ac.signal)) apply(m);
    })().catch(() => {});
    const task = (id: string, serviceId: string): Task => ({
      id,
      serviceId,
      slot: 1,
      nodeId: "w1",
      specVersion: 1,
      desiredState: "running",
      status: { state: "assigned", message: "", health: "none", timestamp: at },
      createdAt: at,
      updatedAt: at,
    });
    // Task ta needs s1: its send waits for the secret...
    gate = Promise.withResolvers<void>();
    const released = gate;
    await write(mgr.ctx, { kind: "task.create", at, tasks: [task("ta", a.id)] });
    await waiting.promise;
    // ...while ta is gone (finished) and tb arrives: a later send computes the newer view.
    const done = {
      state: "shutdown" as const,
      message: "",
      health: "none" as const,
      timestamp: at,
    };
    await write(mgr.ctx, {
      kind: "task.update",
      at,
      changes: [{ id: "ta", desiredState: "shutdown", status: done }],
    });
    await write(mgr.ctx, { kind: "task.create", at, tasks: [task("tb", b.id)] });
    // Let the flush for tb start (its timer is due after batchMs = 5 ms) while ta's send still
    // waits: with sends overlapping, tb's would go out first and ta's older view land last.
    await new Promise((r) => setTimeout(r, 50));
    released.resolve();
    await returned.promise;
    // Every message either send makes is pushed within this turn of the event loop.
    const settled = new Promise<void>((resolve) => {
      const check = () => held.has("tb") && resolve();
      changed.addEventListener("change", check);
      check();
    });
    await settled;
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual([...held].sort(), ["tb"], "the worker holds only what the manager wants");
    ac.abort();
    await reading;
  } finally {
    ac.abort();
    await mgr.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dispatcher: a removed node's session is dropped", async () => {
  const { mgr, dir } = await startManager();
  try {
    mgr.orchestrator.stop();
    const at = Date.now();
    await write(mgr.ctx, {
      kind: "node.register",
      at,
      node: { ...node("w1", at), hostname: "w1" },
    });
    await registerW1(mgr);
    assert.ok(mgr.dispatcher.sessionNodeIds.includes("w1"));
    await write(mgr.ctx, { kind: "node.remove", at, id: "w1", force: true });
    assert.ok(!mgr.dispatcher.sessionNodeIds.includes("w1"));
    assert.equal(mgr.dispatcher.lastSeen("w1"), undefined);
  } finally {
    await mgr.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dispatcher: a node marked down must register again, which makes it ready", async () => {
  const { mgr, dir } = await startManager();
  try {
    mgr.orchestrator.stop(); // the test marks the node down itself
    const at = Date.now();
    await write(mgr.ctx, {
      kind: "node.register",
      at,
      node: { ...node("w1", at), hostname: "w1" },
    });
    const register = () => registerW1(mgr);
    const { sessionId } = await register();
    mgr.dispatcher.heartbeat("w1", sessionId);
    // The worker froze past the down period: the orchestrator marked it down.
    const ready = mgr.store.state.nodes.get("w1")!;
    await write(mgr.ctx, {
      kind: "node.status",
      at,
      id: "w1",
      status: { ...ready.status, state: "down", message: "no heartbeat for 11 s" },
    });
    // It thaws and heartbeats: told to register again.
    assert.throws(() => mgr.dispatcher.heartbeat("w1", sessionId), UnauthenticatedError);
    await register();
    assert.equal(mgr.store.state.nodes.get("w1")!.status.state, "ready");
  } finally {
    await mgr.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
