import assert from "node:assert/strict";
import { credentials, Metadata, type ServiceError, status as GrpcStatus } from "@grpc/grpc-js";
import { Manager } from "./manager.ts";
import { WarrenClient } from "../net/client/client.ts";
import * as wire from "../proto/gen/warren.ts";
import { codecs } from "../proto/convert.ts";
import { write } from "./api/context.ts";
import { node } from "./state/_fixtures_test_util.ts";
import { leaveCluster, managerPeers } from "./api/membership.ts";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  NotFoundError,
  RequestIdReusedError,
  ValidationError,
} from "../proto/errors.ts";
import { ManagerPool } from "../net/client/manager_pool.ts";
import { requestIdMetadata } from "../net/grpc/request_id.ts";
import { configureLogging } from "../proto/log.ts";
import { cutProxy } from "./_cut_proxy_test_util.ts";
import { TASK_RESERVES_LEVEL } from "./state/fsm_feature_level.ts";
import {
  CreateServiceRequestSchema,
  type Event,
  parseOrThrow,
  serviceRevision,
  type ServiceSpecInput,
} from "../proto/schema/mod.ts";

configureLogging({ level: "error" });

/** `fetch` against a manager's REST API with its token (manager/api/rest_token.ts). */
function restFetch(mgr: Manager, url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${mgr.restToken}`);
  return fetch(url, { ...init, headers });
}

async function startManager(
  extra: Partial<Parameters<typeof Manager.start>[0]> = {},
): Promise<{ mgr: Manager; dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "warren-mgr-" });
  const mgr = await Manager.start({
    ...extra,
    dataDir: dir,
    apiAddr: "127.0.0.1:0",
    raftAddr: "127.0.0.1:0",
    httpAddr: "127.0.0.1:0",
    advertiseAddr: "127.0.0.1",
    init: { clusterName: "test" },
    insecure: true,
    tickMs: 10,
    dispatcher: { heartbeatPeriodMs: 200, batchMs: 5 },
  });
  return {
    mgr,
    dir,
    async [Symbol.asyncDispose]() {
      await mgr.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("manager: services through gRPC: create, list, scale, update, rollback, delete, errors", async () => {
  await using m = await startManager();
  using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
  const info = await c.cluster.info();
  assert.equal(info.name, "test");
  assert.equal(info.managers, 1);

  const web = await c.services.create({ name: "web", image: "registry.local/web:1", replicas: 2 });
  assert.equal(web.specVersion, 1);
  await assert.rejects(() => c.services.create({ name: "web", image: "x:1" }), AlreadyExistsError);
  await assert.rejects(
    () => c.services.create({ name: "Bad_Name", image: "x:1" }),
    (e: unknown) => e instanceof ValidationError && e.field === "spec.name",
  );
  assert.equal((await c.services.scale("web", 5)).spec.replicas, 5);
  const v2 = await c.services.update("web", { ...web.spec, image: "registry.local/web:2" });
  assert.equal(v2.specVersion, 2);
  const back = await c.services.rollback("web");
  assert.equal(back.spec.image, "registry.local/web:1");
  const list = await c.services.list();
  assert.deepEqual(list.services.map((s) => s.spec.name), ["web"]);
  assert.ok(list.index > 0);
  await c.services.delete("web");
  await assert.rejects(() => c.services.inspect("web"), NotFoundError);
  await assert.rejects(() => c.services.rollback("nope"), NotFoundError);
});

Deno.test("manager: a change after a quiet spell is reconciled at once, not at the next tick", async () => {
  // A tick this long never comes during the test: only the change itself can start the pass.
  await using m = await startManager({ orchestrator: { tickMs: 60_000 } });
  using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
  // The manager's start-up passes were just now; on its clock a quiet minute has passed since.
  const now = m.mgr.ctx.now;
  m.mgr.ctx.now = () => now() + 61_000;
  const sv = await c.services.create({ name: "quick", image: "registry.local/q:1", replicas: 2 });
  const { tasks, index } = await c.tasks.list({ serviceId: sv.id });
  if (tasks.length < 2) {
    const ac = new AbortController();
    let seen = tasks.length;
    const watch = c.events.watch({ fromIndex: index + 1, kinds: ["task"], signal: ac.signal });
    const timer = setTimeout(() => ac.abort(), 10_000);
    for await (const e of watch) {
      if (e.action === "create" && ++seen >= 2) break;
    }
    clearTimeout(timer);
    ac.abort();
  }
  assert.equal((await c.tasks.list({ serviceId: sv.id })).tasks.length, 2);
});

Deno.test("manager: the only manager leaves only with force, which ends the cluster with it", async () => {
  await using m = await startManager();
  const self = m.mgr.ctx.raft.status().config.voters[0]!;
  await assert.rejects(
    leaveCluster(m.mgr.ctx, self, false),
    (err) =>
      err instanceof FailedPreconditionError &&
      // `cluster leave --force` deletes the Raft log and cluster key: no state stays behind.
      /only manager: leaving ends the cluster and erases its state/.test(err.message),
  );
  // Forced: nothing to remove from Raft (it has no other voter); the daemon then stops.
  await leaveCluster(m.mgr.ctx, self, true);
  assert.deepEqual(m.mgr.ctx.raft.status().config.voters, [self]);
});

Deno.test("manager: its own worker registering keeps the manager's API and Raft addresses", async () => {
  await using m = await startManager();
  const id = m.mgr.identity.nodeId;
  const before = m.mgr.store.state.nodes.get(id)!.addresses;
  assert.ok(before.api && before.raft, JSON.stringify(before));
  // The worker beside the manager knows only the advertise address.
  await m.mgr.dispatcher.register({
    nodeId: id,
    hostname: "edge-1",
    addresses: { advertise: "127.0.0.1" },
    resources: { nanoCpus: 1e9, memoryBytes: 1e9 },
    platform: { os: "linux", arch: "amd64" },
    version: "0.1.0",
  });
  assert.deepEqual(m.mgr.store.state.nodes.get(id)!.addresses, before);
  // So a joining manager is still told where this one is.
  assert.deepEqual(managerPeers(m.mgr.ctx).map((p) => p.nodeId), [id]);
});

Deno.test("manager: an update read before a scale fails (gRPC and REST) instead of undoing it", async () => {
  await using m = await startManager();
  m.mgr.orchestrator.stop(); // no tasks needed
  using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
  const read = await c.services.create({ name: "lu", image: "registry.local/lu:1" });
  await c.services.scale("lu", 5);
  const expect = { expectedSpecVersion: read.specVersion, expectedRevision: serviceRevision(read) };
  await assert.rejects(
    c.services.update("lu", { ...read.spec, env: ["A=1"] }, expect),
    FailedPreconditionError,
  );
  const r = await restFetch(
    m.mgr,
    `http://127.0.0.1:${m.mgr.httpPort}/v1/services/lu?expected_revision=${expect.expectedRevision}`,
    {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...read.spec, env: ["A=1"] }),
    },
  );
  assert.equal(r.status, 412);
  await r.body?.cancel();
  const now = await c.services.inspect("lu");
  assert.deepEqual([now.spec.replicas, now.spec.env], [5, []], "the scale stands, no update");
  const updated = await c.services.update("lu", { ...now.spec, env: ["A=1"] }, {
    expectedRevision: serviceRevision(now),
  });
  assert.deepEqual([updated.spec.replicas, updated.spec.env], [5, ["A=1"]]);
});

Deno.test("manager: the orchestrator records what tasks reserve at feature level 2, not below", async () => {
  for (const featureLevel of [1, TASK_RESERVES_LEVEL]) {
    await using m = await startManager({ featureLevel });
    using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
    const sv = await c.services.create({
      name: "res",
      image: "registry.local/res:1",
      resources: { reservations: { nanoCpus: 1e8 } },
      ports: [{ target: 80, published: 8080, publishMode: "host" }],
    });
    let { tasks, index } = await c.tasks.list({ serviceId: sv.id });
    if (tasks.length === 0) {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), 10_000);
      const watch = c.events.watch({ fromIndex: index + 1, kinds: ["task"], signal: ac.signal });
      for await (const e of watch) if (e.action === "create") break;
      clearTimeout(timer);
      ac.abort();
      ({ tasks } = await c.tasks.list({ serviceId: sv.id }));
    }
    assert.equal(tasks.length, 1, `level ${featureLevel}`);
    assert.deepEqual(
      tasks[0]!.reserves,
      featureLevel >= TASK_RESERVES_LEVEL
        ? {
          nanoCpus: 1e8,
          memoryBytes: 0,
          hostPorts: [{ published: 8080, protocol: "tcp" }],
          volumes: [],
        }
        : undefined,
      `level ${featureLevel}`,
    );
  }
});

Deno.test("manager: an update of the replicas only keeps the tasks; force replaces them (gRPC and REST)", async () => {
  await using m = await startManager();
  m.mgr.orchestrator.stop(); // no tasks needed: the spec versions tell
  using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
  const v1 = await c.services.create({ name: "fu", image: "registry.local/fu:1" });
  const wider = await c.services.update("fu", { ...v1.spec, replicas: 4 });
  assert.equal(wider.specVersion, v1.specVersion, "no task runs a different definition");
  const forced = await c.services.update("fu", wider.spec, { force: true });
  assert.equal(forced.specVersion, v1.specVersion + 1, "force: a version no task runs yet");
  const put = (query: string) =>
    restFetch(m.mgr, `http://127.0.0.1:${m.mgr.httpPort}/v1/services/fu${query}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(forced.spec),
    });
  const rest = await put("?force=true");
  assert.equal(rest.status, 200);
  assert.equal(
    ((await rest.json()) as { specVersion: number }).specVersion,
    forced.specVersion + 1,
  );
  const bad = await put("?force=yes");
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /force/);
  assert.equal((await c.services.inspect("fu")).specVersion, forced.specVersion + 1);
});

Deno.test("manager: task lists show a task told to stop until it has stopped", async () => {
  await using m = await startManager();
  m.mgr.orchestrator.stop(); // tasks are written by hand
  using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
  const sv = await c.services.create({ name: "ps", image: "registry.local/ps:1" });
  const at = Date.now();
  const status = (state: "running" | "shutdown") => ({
    state,
    message: "",
    health: "none" as const,
    timestamp: at,
  });
  const base = { serviceId: sv.id, slot: 1, specVersion: 1, createdAt: at, updatedAt: at };
  await write(m.mgr.ctx, {
    kind: "task.create",
    at,
    tasks: [
      // Told to stop, still in its stop grace period: it holds a container.
      { ...base, id: "stopping", desiredState: "shutdown", status: status("running") },
      { ...base, id: "stopped", desiredState: "shutdown", status: status("shutdown") },
      { ...base, id: "new", slot: 2, desiredState: "running", status: status("running") },
    ],
  });
  const ids = (await c.tasks.list({ serviceId: sv.id })).tasks.map((t) => t.id).sort();
  assert.deepEqual(ids, ["new", "stopping"]);
  const all = (await c.tasks.list({ serviceId: sv.id, history: true })).tasks.map((t) => t.id);
  assert.deepEqual(all.sort(), ["new", "stopped", "stopping"]);
});

Deno.test("manager: task lists show how a retired slot ended (a job that completed), not a slot scaled away", async () => {
  await using m = await startManager();
  m.mgr.orchestrator.stop(); // tasks are written by hand
  using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
  const sv = await c.services.create({ name: "job", image: "registry.local/job:1", replicas: 2 });
  const at = Date.now();
  const status = (state: "complete" | "failed" | "shutdown") => ({
    state,
    message: "",
    health: "none" as const,
    timestamp: at,
  });
  const base = { serviceId: sv.id, specVersion: 1, updatedAt: at };
  await write(m.mgr.ctx, {
    kind: "task.create",
    at,
    tasks: [
      // Slot 1 failed once, was replaced, then completed: its restart policy retired it.
      {
        ...base,
        id: "j1a",
        slot: 1,
        createdAt: at,
        desiredState: "shutdown",
        status: status("failed"),
      },
      {
        ...base,
        id: "j1b",
        slot: 1,
        createdAt: at + 1,
        desiredState: "complete",
        status: status("complete"),
      },
      // Slot 2 used up its attempts.
      {
        ...base,
        id: "j2",
        slot: 2,
        createdAt: at,
        desiredState: "failed",
        status: status("failed"),
      },
      // Slot 3 was scaled away after it completed.
      {
        ...base,
        id: "j3",
        slot: 3,
        createdAt: at,
        desiredState: "complete",
        status: status("complete"),
      },
    ],
  });
  const ids = (await c.tasks.list({ serviceId: sv.id })).tasks.map((t) => t.id).sort();
  assert.deepEqual(ids, ["j1b", "j2"]);
  const all = (await c.tasks.list({ serviceId: sv.id, history: true })).tasks.map((t) => t.id);
  assert.deepEqual(all.sort(), ["j1a", "j1b", "j2", "j3"]);
});

Deno.test("manager: a published port another service holds is refused (gRPC FAILED_PRECONDITION, HTTP 412)", async () => {
  await using m = await startManager();
  using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
  const ports = (published: number) => [{ target: 80, published }];
  await c.services.create({ name: "p1", image: "registry.local/p:1", ports: ports(8080) });
  const web = await c.services.create({ name: "web", image: "registry.local/w:1" });
  const inUse = (e: unknown) =>
    e instanceof FailedPreconditionError &&
    /^spec\.ports\[0\]\.published: port 8080\/tcp is already in use by service "p1"/.test(
      e.message,
    );
  await assert.rejects(
    () => c.services.create({ name: "p2", image: "registry.local/p:1", ports: ports(8080) }),
    inUse,
  );
  await assert.rejects(() => c.services.update("web", { ...web.spec, ports: ports(8080) }), inUse);
  const r = await restFetch(m.mgr, `http://127.0.0.1:${m.mgr.httpPort}/v1/services`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "p3", image: "registry.local/p:1", ports: ports(8080) }),
  });
  assert.equal(r.status, 412);
  assert.match((await r.json()).error.message, /in use by service "p1"/);
  const { services } = await c.services.list();
  assert.deepEqual(services.map((s) => [s.spec.name, s.specVersion]), [["p1", 1], ["web", 1]]);
});

Deno.test("manager: REST mirrors the API with field-naming 400s, 404, 409 and health", async () => {
  await using m = await startManager();
  const base = `http://127.0.0.1:${m.mgr.httpPort}`;
  const post = (path: string, body: unknown) =>
    restFetch(m.mgr, base + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  // Loopback is not enough: the token in the data directory (owner-only) is the credential.
  const tokenFile = await Deno.stat(`${m.dir}/rest.token`);
  assert.equal(tokenFile.mode! & 0o777, 0o600);
  assert.equal((await Deno.readTextFile(`${m.dir}/rest.token`)).trim(), m.mgr.restToken);
  let r = await fetch(`${base}/v1/services`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "api", image: "registry.local/api:1" }),
  });
  assert.equal(r.status, 401);
  assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="warren"');
  assert.match((await r.json()).error.message, /needs the manager's token.*rest\.token/);
  assert.deepEqual((await (await restFetch(m.mgr, `${base}/v1/services`)).json()).services, []);
  r = await post("/v1/services", { name: "api", image: "registry.local/api:1" });
  assert.equal(r.status, 201);
  await r.body?.cancel();
  r = await post("/v1/services", { name: "api", image: "registry.local/api:1" });
  assert.equal(r.status, 409);
  await r.body?.cancel();
  r = await post("/v1/services", { name: "x", image: "registry.local/x:1", replicas: -1 });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.field, "spec.replicas");
  r = await restFetch(m.mgr, `${base}/v1/services/nope`);
  assert.equal(r.status, 404);
  await r.body?.cancel();
  r = await post("/v1/volumes", { name: "data" });
  assert.equal(r.status, 201);
  await r.body?.cancel();
  r = await fetch(`${base}/ready`);
  assert.equal(r.status, 200);
  await r.body?.cancel();
  // The orchestrator creates the service's task after the create commits: wait for it, or the
  // tasks series below may not be there yet.
  {
    using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
    const { tasks, index } = await c.tasks.list({ serviceId: "api" });
    if (tasks.length === 0) {
      const ac = new AbortController();
      const from = index + 1;
      for await (
        const _ of c.events.watch({ fromIndex: from, kinds: ["task"], signal: ac.signal })
      ) {
        break;
      }
      ac.abort();
    }
  }
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /warren_raft_is_leader 1/);
  assert.match(
    metrics,
    /warren_api_request_latency_ms_count\{method="REST POST \/v1\/services",code="201"\} 1/,
  );
  const state = await (await restFetch(m.mgr, `${base}/v1/services`)).json();
  assert.equal(state.services[0].spec.name, "api");
  // Every series the issue names: Raft term/index/leader, commit latency, nodes by state,
  // services, tasks by state, API latency by method.
  for (
    const series of [
      /^warren_raft_term [1-9]\d*$/m,
      /^warren_raft_commit_index [1-9]\d*$/m,
      /^warren_raft_has_leader 1$/m,
      /^warren_raft_commit_latency_ms_count [1-9]\d*$/m,
      /^warren_nodes\{role="manager",state="[a-z]+"\} 1$/m,
      /^warren_services 1$/m,
      /^warren_tasks\{state="[a-z]+"\} [1-9]\d*$/m,
    ]
  ) assert.match(metrics, series);

  // Secrets: plaintext in, metadata out; a field-naming 400.
  r = await post("/v1/secrets", { name: "db-pass", data: btoa("s3cret") });
  assert.equal(r.status, 201);
  const created = await r.json();
  assert.equal(created.name, "db-pass");
  assert.equal(JSON.stringify(created).includes(btoa("s3cret")), false, "no plaintext back");
  r = await post("/v1/secrets", { name: "bad", data: "not base64!" });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.field, "data");
  const listed = await (await restFetch(m.mgr, `${base}/v1/secrets`)).json();
  assert.deepEqual(listed.secrets.map((x: { name: string }) => x.name), ["db-pass"]);
  r = await restFetch(m.mgr, `${base}/v1/secrets/db-pass`, { method: "DELETE" });
  assert.equal(r.status, 204);
  await r.body?.cancel();
  r = await restFetch(m.mgr, `${base}/v1/secrets/db-pass`);
  assert.equal(r.status, 404);
  await r.body?.cancel();
  // Join tokens: read, rotate (a new one).
  const t1 = await (await restFetch(m.mgr, `${base}/v1/cluster/join-tokens/worker`)).json();
  assert.match(t1.token, /^WRN1-/);
  r = await post("/v1/cluster/join-tokens/worker/rotate", {});
  const t2 = await r.json();
  assert.notEqual(t2.token, t1.token);
  r = await restFetch(m.mgr, `${base}/v1/cluster/join-tokens/admin`);
  assert.equal(r.status, 400);
  await r.body?.cancel();
});

Deno.test("manager: events from index 1 on a new cluster start with its first event", async () => {
  // Its history starts at the bootstrap snapshot (index 1), before which nothing happened.
  await using m = await startManager();
  using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
  await c.services.create({ name: "first", image: "registry.local/a:1" });
  const ac = new AbortController();
  const seen: Event[] = [];
  for await (const e of c.events.watch({ fromIndex: 1, signal: ac.signal })) {
    seen.push(e);
    if (e.kind === "service") break;
  }
  ac.abort();
  assert.equal(seen[0]!.kind, "node", "the manager's own node registered first");
  assert.equal(seen[0]!.action, "create");
  const last = seen.at(-1)!;
  assert.equal(last.kind === "service" && last.service.spec.name, "first");
});

Deno.test("manager: events resume from an index without gaps or duplicates", async () => {
  await using m = await startManager();
  using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
  const start = (await c.services.list()).index;
  for (let i = 0; i < 5; i++) {
    await c.services.create({ name: `s${i}`, image: "registry.local/a:1" });
  }
  const ac = new AbortController();
  const seen: Event[] = [];
  for await (
    const e of c.events.watch({ fromIndex: start + 1, kinds: ["service"], signal: ac.signal })
  ) {
    seen.push(e);
    if (seen.length === 3) break;
  }
  ac.abort();
  // Resume right after the last event seen, while more are created.
  const resumeFrom = seen[seen.length - 1].index + 1;
  for (let i = 5; i < 8; i++) {
    await c.services.create({ name: `s${i}`, image: "registry.local/a:1" });
  }
  const ac2 = new AbortController();
  for await (
    const e of c.events.watch({ fromIndex: resumeFrom, kinds: ["service"], signal: ac2.signal })
  ) {
    seen.push(e);
    if (seen.length === 8) break;
  }
  ac2.abort();
  assert.deepEqual(seen.map((e) => e.kind === "service" && e.service.spec.name), [
    "s0",
    "s1",
    "s2",
    "s3",
    "s4",
    "s5",
    "s6",
    "s7",
  ]);
  const indexes = seen.map((e) => e.index);
  assert.deepEqual(indexes, [...new Set(indexes)].sort((a, b) => a - b));
});

Deno.test("manager: a worker registers, receives its assignments by stream and reports status", async () => {
  await using m = await startManager();
  const { mgr } = m;
  // This test places its task by hand: keep the orchestrator from placing one of its own.
  mgr.orchestrator.stop();
  const at = Date.now();
  await write(mgr.ctx, {
    kind: "node.register",
    at,
    node: {
      ...node("w1", at),
      hostname: "edge-1",
      resources: { nanoCpus: 1e9, memoryBytes: 1e9 },
      platform: { os: "linux", arch: "arm64" },
      status: { state: "unknown", message: "", lastHeartbeatAt: 0 },
    },
  });
  using c = new WarrenClient({ managers: [mgr.apiAddress] });
  const sv = await c.services.create({ name: "web", image: "registry.local/web:1", replicas: 1 });
  const task = {
    id: "t1",
    serviceId: sv.id,
    slot: 1,
    nodeId: "w1",
    specVersion: 1,
    desiredState: "running" as const,
    status: { state: "assigned" as const, message: "", health: "none" as const, timestamp: at },
    createdAt: at,
    updatedAt: at,
  };
  await write(mgr.ctx, { kind: "task.create", at, tasks: [task] });

  const client = new wire.WorkerServiceClient(mgr.apiAddress, credentials.createInsecure());
  try {
    const reg = await new Promise<wire.RegisterResponse>((res, rej) =>
      client.register(
        codecs.RegisterRequest.toWire({
          nodeId: "w1",
          hostname: "edge-1",
          addresses: { advertise: "127.0.0.1" },
          resources: { nanoCpus: 4e9, memoryBytes: 4e9 },
          platform: { os: "linux", arch: "arm64" },
          version: "0.1.0",
        }),
        (e, r) => e ? rej(e) : res(r),
      )
    );
    assert.equal((await c.nodes.inspect("w1")).status.state, "ready");
    const stream = client.assignments({ nodeId: "w1", sessionId: reg.sessionId }, new Metadata());
    const msgs: wire.AssignmentsMessage[] = [];
    // Other changes (the node's own registration) may send deltas too: wait for the one whose
    // service endpoints carry the task's reported IP. The worker's own report is not echoed
    // back as an assignment upsert (nothing the worker acts on changed).
    const isRunningDelta = (m: wire.AssignmentsMessage) =>
      !m.complete &&
      codecs.AssignmentsMessage.fromWire(m).endpoints.some((e) =>
        e.name === "web" && e.taskIps.includes("10.240.1.2")
      );
    const got = new Promise<void>((resolve) =>
      stream.on("data", (m: wire.AssignmentsMessage) => {
        msgs.push(m);
        if (isRunningDelta(m)) resolve();
      })
    );
    stream.on("error", () => {});
    // Report running; the delta then carries the new status.
    await new Promise<void>((res, rej) =>
      client.reportStatus(
        codecs.ReportStatusRequest.toWire({
          nodeId: "w1",
          sessionId: reg.sessionId,
          updates: [{
            taskId: "t1",
            status: {
              state: "running",
              message: "",
              health: "none",
              timestamp: Date.now(),
              ip: "10.240.1.2",
            },
          }],
        }),
        (e) => e ? rej(e) : res(),
      )
    );
    await got;
    stream.cancel();
    const first = codecs.AssignmentsMessage.fromWire(msgs[0]);
    assert.equal(first.complete, true);
    assert.deepEqual(first.assignments.map((a) => a.task.id), ["t1"]);
    assert.equal(mgr.store.state.tasks.get("t1")!.status.ip, "10.240.1.2", "report committed");
    assert.ok(
      msgs.slice(1).every((m) =>
        codecs.AssignmentsMessage.fromWire(m).assignments.every((a) => a.task.id !== "t1")
      ),
      "the report is not echoed back",
    );
    const endpoints = msgs.map((m) => codecs.AssignmentsMessage.fromWire(m).endpoints)
      .flat().filter((e) => e.name === "web");
    assert.deepEqual(endpoints[endpoints.length - 1].taskIps, ["10.240.1.2"]);
    // Another node may not report on this node's task; a stale session is refused.
    await assert.rejects(
      new Promise<void>((res, rej) =>
        client.heartbeat({ nodeId: "w1", sessionId: "bogus" }, (e) => e ? rej(e) : res())
      ),
      /no session/,
    );
  } finally {
    client.close();
  }
});

Deno.test("manager: secrets are stored encrypted, listed without data, versioned, and refused when in use", async () => {
  await using m = await startManager();
  using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
  const plaintext = "s3cret-Plaintext-" + crypto.randomUUID();
  const sec = await c.secrets.create({
    name: "db-pass",
    data: new TextEncoder().encode(plaintext),
  });
  assert.equal(sec.version, 1);
  assert.ok(!("encrypted" in sec));
  await c.services.create({
    name: "db",
    image: "registry.local/db:1",
    secrets: [{ secret: "db-pass" }],
  });
  const v2 = await c.secrets.update("db-pass", {
    data: new TextEncoder().encode(plaintext + "-2"),
  });
  assert.equal(v2.version, 2);
  assert.equal((await c.services.inspect("db")).specVersion, 2, "services using the secret roll");
  // unlessSame: the same data and labels make no version and roll nothing; dryRun writes nothing.
  const enc = (t: string) => new TextEncoder().encode(t);
  const same = { data: enc(plaintext + "-2"), unlessSame: true };
  assert.equal((await c.secrets.update("db-pass", { ...same, dryRun: true })).version, 2);
  assert.equal((await c.secrets.update("db-pass", same)).version, 2);
  assert.equal((await c.services.inspect("db")).specVersion, 2, "nothing rolled");
  const would = await c.secrets.update("db-pass", {
    data: enc(plaintext + "-3"),
    unlessSame: true,
    dryRun: true,
  });
  assert.equal(would.version, 3);
  assert.equal((await c.secrets.inspect("db-pass")).version, 2, "a dry run writes nothing");
  const relabeled = await c.secrets.update("db-pass", { ...same, labels: { team: "db" } });
  assert.deepEqual([relabeled.version, relabeled.labels], [3, { team: "db" }]);
  await assert.rejects(() => c.secrets.delete("db-pass"), /in use by service "db"/);
  // A secret that does not exist is refused at create and update, naming the field.
  const before = m.mgr.store.state.services.size;
  const refused: [Partial<ServiceSpecInput>, string][] = [
    [{ secrets: [{ secret: "db-pass" }, { secret: "nope" }] }, "spec.secrets[1].secret"],
    [{ registryAuthSecret: "nope" }, "spec.registryAuthSecret"],
  ];
  for (const [spec, field] of refused) {
    await assert.rejects(
      () => c.services.create({ name: "x", image: "registry.local/x:1", ...spec }),
      (e) =>
        e instanceof ValidationError && e.field === field &&
        /"nope" does not exist/.test(e.message),
    );
  }
  assert.equal(m.mgr.store.state.services.size, before, "nothing created");
  await assert.rejects(
    () =>
      c.services.update("db", {
        name: "db",
        image: "registry.local/db:1",
        secrets: [{ secret: "nope" }],
      }),
    (e) => e instanceof ValidationError && e.field === "spec.secrets[0].secret",
  );
  const stored = m.mgr.store.state.secrets.get(sec.id)!;
  assert.ok(!JSON.stringify(stored).includes(plaintext));
  const tokens = await Promise.all([c.cluster.joinToken("worker"), c.cluster.joinToken("manager")]);
  assert.match(tokens[0].token, /^WRN1-[0-9a-f]{64}-w-/);
  assert.match(tokens[1].token, /^WRN1-[0-9a-f]{64}-m-/);
  const rotated = await c.cluster.joinToken("worker", true);
  assert.notEqual(rotated.token, tokens[0].token);
  assert.equal((await c.cluster.joinToken("worker")).token, rotated.token);
});

Deno.test("manager: volume rm --force forgives a missing volume but never deletes one in use (Docker's -f)", async () => {
  await using m = await startManager();
  using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
  await assert.rejects(() => c.volumes.delete("nope"), NotFoundError);
  await c.volumes.delete("nope", { force: true });
  await c.volumes.create({ name: "data" });
  await c.services.create({
    name: "db",
    image: "registry.local/db:1",
    mounts: [{ type: "volume", source: "data", target: "/data" }],
  });
  for (const force of [false, true]) {
    await assert.rejects(
      () => c.volumes.delete("data", { force }),
      (e: unknown) =>
        e instanceof FailedPreconditionError && /in use by service "db"/.test(e.message),
    );
  }
  const base = `http://127.0.0.1:${m.mgr.httpPort}`;
  const r = await restFetch(m.mgr, `${base}/v1/volumes/nope?force=true`, { method: "DELETE" });
  assert.equal(r.status, 204);
  await r.body?.cancel();
  await c.services.delete("db");
  await c.volumes.delete("data", { force: true });
  assert.deepEqual((await c.volumes.list()).volumes, []);
});

Deno.test("manager: a volume is bound only to a node that exists, and takes no driver options", async () => {
  await using m = await startManager();
  using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
  await assert.rejects(
    () => c.volumes.create({ name: "cv1", nodeId: "nosuchnode" }),
    (e: unknown) => e instanceof NotFoundError && e.message === 'node "nosuchnode" not found',
  );
  const base = `http://127.0.0.1:${m.mgr.httpPort}`;
  const post = (body: unknown) =>
    restFetch(m.mgr, `${base}/v1/volumes`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  let r = await post({ name: "cv1", nodeId: "nosuchnode" });
  assert.equal(r.status, 404);
  assert.match((await r.json()).error.message, /node "nosuchnode" not found/);
  r = await post({ name: "cv1", options: { x: "y" } });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.field, "options.x");
  // The options check is the schema's, so gRPC refuses the same (here before sending).
  await assert.rejects(
    () => c.volumes.create({ name: "cv1", options: { type: "nfs" } }),
    (e: unknown) => e instanceof ValidationError && e.field === "options.type",
  );
  assert.throws(
    () =>
      codecs.CreateVolumeRequest.fromWire({
        name: "cv1",
        driver: "local",
        options: { type: "nfs" },
        labels: {},
      }),
    (e: unknown) => e instanceof ValidationError && e.field === "options.type",
    "the server's decoder refuses it too",
  );
  assert.deepEqual((await c.volumes.list()).volumes, []);
  // A node named by its host name is bound by its ID.
  const self = await c.nodes.inspect(m.mgr.identity.nodeId);
  const bound = await c.volumes.create({ name: "cv1", nodeId: self.hostname });
  assert.equal(bound.nodeId, self.id);
});

Deno.test("manager: a node's role does not change by a field, and a manager in Raft is not removed behind its back", async () => {
  await using m = await startManager();
  using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
  const self = m.mgr.identity.nodeId;
  await assert.rejects(
    () => c.nodes.update(self, { role: "worker" }),
    (e: unknown) =>
      e instanceof FailedPreconditionError &&
      /changing a node's role is not supported: a manager leaves with 'warren cluster leave'/
        .test(e.message),
  );
  assert.equal((await c.nodes.inspect(self)).role, "manager");
  // The same role is no change; other fields still apply.
  const labelled = await c.nodes.update(self, { role: "manager", labelsAdd: { zone: "a" } });
  assert.equal(labelled.labels.zone, "a");
  await assert.rejects(
    () => c.nodes.remove(self),
    (e: unknown) =>
      e instanceof FailedPreconditionError && /is a manager and a member of Raft/.test(e.message),
  );
  await assert.rejects(
    () => c.nodes.remove(self, { force: true }),
    (e: unknown) =>
      e instanceof FailedPreconditionError && /leader answering this request/.test(e.message),
  );
  assert.deepEqual(m.mgr.raft.status().config.voters, [self]);
  assert.equal((await c.nodes.list()).nodes.length, 1);
});

Deno.test("manager: admins turning autolock on at once all get the one key that locks", async () => {
  await using m = await startManager();
  using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
  const answers = await Promise.all([1, 2, 3].map(() => c.cluster.updateAutolock(true)));
  const keys = new Set(answers.map((a) => a.unlockKey));
  assert.equal(keys.size, 1, `one key, not ${[...keys].join(", ")}`);
  assert.equal((await c.cluster.unlockKey()).unlockKey, answers[0]!.unlockKey);
  // Concurrent rotations: each answer is a key that was current once; the last one holds.
  const rotated = await Promise.allSettled([1, 2].map(() => c.cluster.updateAutolock(true, true)));
  const current = (await c.cluster.unlockKey()).unlockKey;
  const won = rotated.filter((r) => r.status === "fulfilled").map((r) => r.value.unlockKey);
  assert.ok(won.includes(current), "the current key was handed out");
  for (const r of rotated) {
    if (r.status === "rejected") assert.match(String(r.reason), /run it again/);
  }
});

Deno.test("manager: rotating the unlock key with autolock off is refused and leaves it off", async () => {
  await using m = await startManager();
  using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
  await assert.rejects(
    () => c.cluster.updateAutolock(true, true),
    (e: unknown) =>
      e instanceof FailedPreconditionError &&
      /cannot rotate the unlock key: autolock is off/.test(e.message),
  );
  assert.equal(m.mgr.store.state.cluster?.security?.unlockKey, undefined, "autolock stays off");
  await assert.rejects(() => c.cluster.unlockKey(), FailedPreconditionError);
  // Once on, rotating replaces the key.
  const on = await c.cluster.updateAutolock(true);
  const rotated = await c.cluster.updateAutolock(true, true);
  assert.ok(rotated.unlockKey && rotated.unlockKey !== on.unlockKey);
});

Deno.test("manager: a write whose answer was lost is retried with its request ID and applies once", async () => {
  await using m = await startManager();
  m.mgr.orchestrator.stop(); // no tasks needed
  // A new client per call dials the manager through a proxy first, the manager itself second.
  await using proxy = cutProxy(m.mgr.apiAddress);
  const call = async <T>(fn: (c: WarrenClient) => Promise<T>): Promise<T> => {
    using c = new WarrenClient({ managers: [proxy.address, m.mgr.apiAddress] });
    return await fn(c);
  };
  // Once a write has committed and applied, before its answer goes out: the connection drops,
  // as when the leader dies mid-write. The client fails over with the same request ID.
  let cuts = 0;
  const observe = m.mgr.ctx.observeCommit;
  m.mgr.ctx.observeCommit = (ms) => {
    observe?.(ms);
    cuts++;
    proxy.cut();
  };
  const web = await call((c) => c.services.create({ name: "web", image: "registry.local/web:1" }));
  assert.equal(cuts, 1, "the first attempt applied and lost its answer; the retry did not apply");
  const { services } = await call((c) => c.services.list());
  assert.deepEqual(services.map((s) => [s.id, s.spec.name]), [[web.id, "web"]], "created once");

  const scaled = await call((c) => c.services.scale("web", 3));
  assert.equal(scaled.spec.replicas, 3);
  await call((c) => c.services.update("web", { ...scaled.spec, image: "registry.local/web:2" }));
  const now = await call((c) => c.services.inspect("web"));
  assert.equal(cuts, 3);
  assert.deepEqual([now.specVersion, serviceRevision(now)], [2, 3], "one scale, one update");

  // The retry finds no service to delete: it is answered as the first attempt was.
  await call((c) => c.services.delete("web"));
  assert.equal(cuts, 4);
  await assert.rejects(() => call((c) => c.services.inspect("web")), NotFoundError);
  m.mgr.ctx.observeCommit = observe;
});

Deno.test("manager: an Idempotency-Key reused for a different request is a 422 that applies nothing", async () => {
  await using m = await startManager();
  m.mgr.orchestrator.stop();
  const base = `http://127.0.0.1:${m.mgr.httpPort}`;
  const send = (method: string, path: string, key: string, body: unknown) =>
    restFetch(m.mgr, `${base}${path}`, {
      method,
      headers: { "content-type": "application/json", "idempotency-key": key },
      body: JSON.stringify(body),
    });
  const key = "3f1c9a52-6a4e-4c1e-9d0b-2b7d1f0e5a11";
  let r = await send("POST", "/v1/services", key, { name: "api", image: "registry.local/api:1" });
  assert.equal(r.status, 201);
  const first = await r.json();
  const state = async () => (await restFetch(m.mgr, `${base}/v1/services`)).json();
  const before = await state();

  // The key again with another body: refused, nothing created, and the body says why.
  r = await send("POST", "/v1/services", key, { name: "db", image: "registry.local/db:1" });
  assert.equal(r.status, 422);
  const { error } = await r.json();
  assert.equal(error.code, "request_id_reused");
  assert.equal(error.retryable, false);
  assert.match(
    error.message,
    new RegExp(
      `^Idempotency-Key "${key}" was used for a different request already \\(a service\\.create ` +
        "with another body or target\\): this request was not applied\\. Send a new Idempotency-Key",
    ),
  );
  // Another method and path (a scale of the service the key created): refused alike.
  r = await send("POST", `/v1/services/${first.id}/scale`, key, { replicas: 4 });
  assert.equal(r.status, 422);
  assert.match((await r.json()).error.message, /a service\.create, and this is a service\.scale/);
  assert.deepEqual(await state(), before, "state unchanged");
  // The same request again still gets the first answer.
  r = await send("POST", "/v1/services", key, { name: "api", image: "registry.local/api:1" });
  assert.equal(r.status, 201);
  assert.equal((await r.json()).id, first.id);

  // A secret's data is part of the request too (as a keyed digest: the plaintext is not kept).
  const secret = (data: string) => ({ name: "token", data: btoa(data), labels: {} });
  const skey = "secret-request-0000000001";
  r = await send("POST", "/v1/secrets", skey, secret("s3cret-one"));
  assert.equal(r.status, 201);
  const created = await r.json();
  r = await send("POST", "/v1/secrets", skey, secret("s3cret-two"));
  assert.equal(r.status, 422);
  await r.body?.cancel();
  r = await send("POST", "/v1/secrets", skey, secret("s3cret-one"));
  assert.equal(r.status, 201);
  assert.equal((await r.json()).id, created.id);
  const fingerprints = [...m.mgr.ctx.store.state.requests.values()].map((o) => o.fingerprint);
  assert.equal(fingerprints.length, 2);
  assert.ok(fingerprints.every((fp) => fp !== undefined), "the cluster is at level 3: recorded");
});

Deno.test("manager: a gRPC request ID reused for a different request is INVALID_ARGUMENT and applies nothing", async () => {
  await using m = await startManager();
  m.mgr.orchestrator.stop();
  using pool = new ManagerPool({ addresses: [m.mgr.apiAddress] });
  const requestId = "grpc-request-000000000001";
  const request = (name: string) =>
    codecs.CreateServiceRequest.toWire(
      parseOrThrow(CreateServiceRequestSchema, {
        spec: { name, image: `registry.local/${name}:1` },
      }),
    );
  const create = (name: string) =>
    pool.unary(wire.ServiceServiceService.create, request(name), { requestId });
  const web = await create("web");
  // grpc-js's own status, as any gRPC client sees it, then the typed error WarrenClient rebuilds.
  const raw = await new Promise<ServiceError>((resolve) =>
    pool.client(0).makeUnaryRequest(
      wire.ServiceServiceService.create.path,
      wire.ServiceServiceService.create.requestSerialize,
      wire.ServiceServiceService.create.responseDeserialize,
      request("db"),
      requestIdMetadata(requestId),
      (err) => resolve(err!),
    )
  );
  assert.equal(raw.code, GrpcStatus.INVALID_ARGUMENT);
  assert.match(
    raw.details,
    /^warren-request-id "grpc-request-000000000001" was used for a different request already/,
  );
  await assert.rejects(
    create("db"),
    (e: unknown) => e instanceof RequestIdReusedError && e.code === "request_id_reused",
  );
  using c = new WarrenClient({ managers: [m.mgr.apiAddress] });
  assert.deepEqual((await c.services.list()).services.map((s) => s.spec.name), ["web"]);
  assert.equal((await create("web")).id, web.id, "the same request still gets the first answer");
});

Deno.test("manager: REST takes a request ID from Idempotency-Key and answers a repeat alike", async () => {
  await using m = await startManager();
  m.mgr.orchestrator.stop();
  const base = `http://127.0.0.1:${m.mgr.httpPort}`;
  const post = (key: Record<string, string>, body: unknown) =>
    restFetch(m.mgr, `${base}/v1/services`, {
      method: "POST",
      headers: { "content-type": "application/json", ...key },
      body: JSON.stringify(body),
    });
  const spec = { name: "api", image: "registry.local/api:1" };
  const key = { "idempotency-key": "3f1c9a52-6a4e-4c1e-9d0b-2b7d1f0e5a11" };
  let r = await post(key, spec);
  assert.equal(r.status, 201);
  const first = await r.json();
  r = await post(key, spec);
  assert.equal(r.status, 201, "the repeat answers as the first one did, not 409");
  assert.equal((await r.json()).id, first.id);
  r = await post({ "warren-request-id": key["idempotency-key"] }, spec);
  assert.equal(r.status, 201, "the gRPC header names the same request");
  await r.body?.cancel();
  r = await post({ "idempotency-key": "another-request-0001" }, spec);
  assert.equal(r.status, 409, "a new request ID is a new write");
  await r.body?.cancel();
  r = await post({ "idempotency-key": "short" }, spec);
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.field, "Idempotency-Key");
  const list = await (await restFetch(m.mgr, `${base}/v1/services`)).json();
  assert.equal(list.services.length, 1);
});
