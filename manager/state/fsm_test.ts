import assert from "node:assert/strict";
import fc from "fast-check";
import { applyCommand } from "./fsm.ts";
import { type ClusterState, emptyState, fromSnapshot, toSnapshot } from "./fsm_state.ts";
import type { Command } from "./commands.ts";
import { node, service, task } from "./_fixtures_test_util.ts";
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from "../../proto/errors.ts";
import { runsCurrentSpec, serviceRevision } from "../../proto/schema/mod.ts";

function run(cmds: Command[], s: ClusterState = emptyState()): ClusterState {
  for (const c of cmds) {
    try {
      applyCommand(s, c);
    } catch { /* rejected commands change nothing */ }
  }
  return s;
}

const at = 5000;

Deno.test("fsm: create, update, scale and rollback a service keep versions and names", () => {
  const s = emptyState();
  applyCommand(s, { kind: "service.create", at, service: service("web") });
  assert.throws(
    () =>
      applyCommand(s, { kind: "service.create", at, service: service("web2", { name: "web" }) }),
    AlreadyExistsError,
  );
  const v2 = service("web", { image: "registry.local/app:2" }).spec;
  applyCommand(s, { kind: "service.update", at, id: "web", spec: v2 });
  let sv = s.services.get("web")!;
  assert.equal(sv.specVersion, 2);
  assert.equal(sv.spec.image, "registry.local/app:2");
  assert.equal(sv.previousSpec?.image, "registry.local/app:1");
  applyCommand(s, { kind: "service.scale", at, id: "web", replicas: 7 });
  sv = s.services.get("web")!;
  assert.equal(sv.spec.replicas, 7);
  assert.equal(sv.specVersion, 2, "scaling is not a new spec version");
  applyCommand(s, { kind: "service.rollback", at, id: "web" });
  sv = s.services.get("web")!;
  assert.equal(sv.spec.image, "registry.local/app:1");
  assert.equal(sv.specVersion, 3);
  assert.equal(sv.sameSpecVersion, 1, "tasks of version 1 run the restored spec");
  applyCommand(s, { kind: "service.update", at, id: "web", spec: v2, expectedSpecVersion: 3 });
  assert.equal(s.services.get("web")!.sameSpecVersion, undefined, "a new spec clears it");
  // A version that changed no spec (here a forced update): its rollback keeps no older tasks.
  const forced = s.services.get("web")!.spec;
  applyCommand(s, { kind: "service.update", at, id: "web", spec: structuredClone(forced) });
  applyCommand(s, { kind: "service.rollback", at, id: "web" });
  assert.equal(s.services.get("web")!.sameSpecVersion, undefined);
  assert.throws(
    () =>
      applyCommand(s, { kind: "service.update", at, id: "web", spec: v2, expectedSpecVersion: 2 }),
    FailedPreconditionError,
  );
  assert.throws(() => applyCommand(s, { kind: "service.delete", at, id: "nope" }), NotFoundError);
});

Deno.test("fsm: a spec that changes no task definition keeps the tasks (replicas, update settings)", () => {
  const s = emptyState();
  const keep = { keepsUnchangedTasks: true } as const;
  applyCommand(s, { kind: "service.create", at, service: service("web") });
  const v1 = s.services.get("web")!.spec;
  // What `apply -f` sends when only the replica count or the update settings changed.
  const wider = {
    ...v1,
    replicas: 5,
    updateConfig: { ...v1.updateConfig, parallelism: 2 },
    disconnectGraceMs: 60_000,
    labels: { owner: "team-a" }, // the service's, not its containers'
  };
  applyCommand(s, { kind: "service.update", at, id: "web", spec: wider, ...keep });
  let sv = s.services.get("web")!;
  assert.equal(sv.specVersion, 1, "no task runs a different definition: no new version");
  assert.equal(sv.spec.replicas, 5);
  assert.equal(serviceRevision(sv), 2, "still a new revision");
  assert.deepEqual(sv.previousSpec, v1, "a rollback still restores the settings");
  // Its rollback changes no task either.
  applyCommand(s, { kind: "service.rollback", at, id: "web", ...keep });
  sv = s.services.get("web")!;
  assert.equal(sv.specVersion, 1);
  assert.equal(sv.spec.replicas, 1);
  assert.equal(sv.updateStatus?.state, "rollback_started");

  // An image change is a new version; updating back to the image before, while the rollout
  // is under way, keeps the tasks that still run it (as a rollback does).
  const v2 = { ...v1, image: "registry.local/app:2" };
  applyCommand(s, { kind: "service.update", at, id: "web", spec: v2, ...keep });
  assert.equal(s.services.get("web")!.specVersion, 2);
  applyCommand(s, { kind: "service.scale", at, id: "web", replicas: 4 });
  applyCommand(s, {
    kind: "service.update",
    at,
    id: "web",
    spec: { ...v1, replicas: 4 },
    ...keep,
  });
  sv = s.services.get("web")!;
  assert.equal(sv.specVersion, 3);
  assert.equal(sv.sameSpecVersion, 1, "tasks of version 1 run the definition updated back to");
  // Anything else is a new version that no task runs yet.
  applyCommand(s, {
    kind: "service.update",
    at,
    id: "web",
    spec: { ...v1, env: ["A=1"] },
    ...keep,
  });
  sv = s.services.get("web")!;
  assert.equal(sv.specVersion, 4);
  assert.equal(sv.sameSpecVersion, undefined);

  // Log entries from before the flag replay as they did: every write a new version.
  const old = emptyState();
  applyCommand(old, { kind: "service.create", at, service: service("web") });
  applyCommand(old, { kind: "service.update", at, id: "web", spec: { ...v1, replicas: 5 } });
  assert.equal(old.services.get("web")!.specVersion, 2);
});

Deno.test("fsm: a scale is an update for rollback (as in Swarm), and replaces no task", () => {
  const s = emptyState();
  const keep = { keepsUnchangedTasks: true } as const;
  const scale = (replicas: number) =>
    applyCommand(s, { kind: "service.scale", at, id: "web", replicas, keepsPreviousSpec: true });
  applyCommand(s, { kind: "service.create", at, service: service("web", { replicas: 2 }) });
  const v1 = s.services.get("web")!.spec;
  // A fresh service, scaled: the rollback restores the count, in the same spec version.
  scale(5);
  let sv = s.services.get("web")!;
  assert.deepEqual([sv.spec.replicas, sv.previousSpec?.replicas, sv.specVersion], [5, 2, 1]);
  applyCommand(s, { kind: "service.rollback", at, id: "web", ...keep });
  sv = s.services.get("web")!;
  assert.deepEqual([sv.spec.replicas, sv.previousSpec?.replicas, sv.specVersion], [2, 5, 1]);
  assert.deepEqual(sv.spec, v1);
  // An image update rolled out (v2), then a scale: the rollback undoes the scale only, in the
  // same version (no task replaced), and no older version counts as running the previous spec.
  applyCommand(s, {
    kind: "service.update",
    at,
    id: "web",
    spec: { ...v1, image: "app:2" },
    ...keep,
  });
  applyCommand(s, {
    kind: "service.updateStatus",
    at,
    id: "web",
    updateStatus: { state: "completed", message: "", startedAt: at, completedAt: at },
  });
  scale(3);
  sv = s.services.get("web")!;
  assert.deepEqual([sv.spec.image, sv.spec.replicas, sv.specVersion], ["app:2", 3, 2]);
  assert.deepEqual(sv.previousSpec, { ...v1, image: "app:2" });
  assert.equal(sv.previousSpecVersions, undefined, "no task runs another definition");
  applyCommand(s, { kind: "service.rollback", at, id: "web", ...keep });
  sv = s.services.get("web")!;
  assert.deepEqual([sv.spec.image, sv.spec.replicas, sv.specVersion], ["app:2", 2, 2]);
  // The same count changes nothing to undo: the rollback target stays.
  scale(2);
  assert.equal(s.services.get("web")!.previousSpec?.replicas, 3);
  // During a rollout its rollback target stays the spec before it: a failed update still
  // rolls back to the old image (and the scheduler still counts the old tasks by it).
  applyCommand(s, {
    kind: "service.update",
    at,
    id: "web",
    spec: { ...v1, image: "app:3" },
    ...keep,
  });
  applyCommand(s, {
    kind: "service.updateStatus",
    at,
    id: "web",
    updateStatus: { state: "updating", message: "", startedAt: at },
  });
  const before = s.services.get("web")!;
  scale(6);
  sv = s.services.get("web")!;
  assert.equal(sv.spec.replicas, 6);
  assert.deepEqual(sv.previousSpec, before.previousSpec);
  assert.deepEqual(sv.previousSpecVersions, before.previousSpecVersions);
  // Log entries from before the flag replay as they did: the rollback target unchanged.
  const old = emptyState();
  applyCommand(old, { kind: "service.create", at, service: service("web") });
  applyCommand(old, { kind: "service.scale", at, id: "web", replicas: 4 });
  assert.equal(old.services.get("web")!.previousSpec, undefined);
});

Deno.test("fsm: a second rollback to a spec keeps the tasks of every version that runs it", () => {
  // Seen on a real cluster: v1 ×3, a failed update rolled back (one slot now at v3, two still
  // at v1), a second failed update, rolled back too: the two v1 tasks, healthy and of the very
  // spec restored, were replaced one by one as if outdated.
  const s = emptyState();
  const keep = { keepsUnchangedTasks: true } as const;
  applyCommand(s, { kind: "service.create", at, service: service("web") });
  const v1 = s.services.get("web")!.spec;
  const bad = { ...v1, image: "registry.local/app:bad" };
  const runs = (v: number) => runsCurrentSpec(s.services.get("web")!, v);
  applyCommand(s, { kind: "service.update", at, id: "web", spec: bad, ...keep }); // v2
  applyCommand(s, { kind: "service.rollback", at, id: "web", ...keep }); // v3 = v1
  assert.deepEqual([1, 2, 3].map(runs), [true, false, true]);
  // Only the failure action: no new version.
  const pause = { ...v1, updateConfig: { ...v1.updateConfig, failureAction: "pause" as const } };
  applyCommand(s, { kind: "service.update", at, id: "web", spec: pause, ...keep });
  assert.equal(s.services.get("web")!.specVersion, 3);
  applyCommand(s, { kind: "service.update", at, id: "web", spec: bad, ...keep }); // v4
  assert.deepEqual([1, 3, 4].map(runs), [false, false, true]);
  applyCommand(s, { kind: "service.rollback", at, id: "web", ...keep }); // v5 = v1
  const sv = s.services.get("web")!;
  assert.equal(sv.specVersion, 5);
  assert.deepEqual([1, 2, 3, 4, 5].map(runs), [true, false, true, false, true]);
  // An update back to the bad image (v6 = v4's spec) keeps only the v4 task; then a third
  // rollback keeps all three versions of v1's spec.
  applyCommand(s, { kind: "service.update", at, id: "web", spec: bad, ...keep });
  assert.deepEqual([1, 3, 4, 5, 6].map(runs), [false, false, true, false, true]);
  applyCommand(s, { kind: "service.rollback", at, id: "web", ...keep }); // v7 = v1
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(runs), [true, false, true, false, true, false, true]);
  // A snapshot keeps the lists.
  const again = fromSnapshot(toSnapshot(s));
  assert.deepEqual(again.services.get("web"), s.services.get("web"));
});

Deno.test("fsm: an update read before a scale is refused by its revision, not applied over it", () => {
  const s = emptyState();
  // A service written before revisions existed is at its spec version.
  const { revision: _, ...old } = service("web");
  applyCommand(s, { kind: "service.create", at, service: old });
  const read = s.services.get("web")!;
  assert.equal(serviceRevision(read), 1);
  // Someone scales between the read and the update: same spec version, a new revision.
  applyCommand(s, { kind: "service.scale", at, id: "web", replicas: 7 });
  assert.equal(s.services.get("web")!.specVersion, 1);
  assert.equal(s.services.get("web")!.revision, 2);
  const edited = { ...read.spec, env: ["A=1"] }; // replicas as read: 1
  assert.throws(
    () =>
      applyCommand(s, {
        kind: "service.update",
        at,
        id: "web",
        spec: edited,
        expectedSpecVersion: read.specVersion,
        expectedRevision: serviceRevision(read),
      }),
    (err) => err instanceof FailedPreconditionError && /updated or scaled since/.test(err.message),
  );
  assert.equal(s.services.get("web")!.spec.replicas, 7, "the acknowledged scale stands");
  // Read again: the update applies and keeps the scaled count; every write moves the revision.
  const again = s.services.get("web")!;
  applyCommand(s, {
    kind: "service.update",
    at,
    id: "web",
    spec: { ...again.spec, env: ["A=1"] },
    expectedRevision: serviceRevision(again),
  });
  let sv = s.services.get("web")!;
  assert.deepEqual([sv.spec.replicas, sv.specVersion, sv.revision], [7, 2, 3]);
  applyCommand(s, { kind: "service.rollback", at, id: "web" });
  sv = s.services.get("web")!;
  assert.deepEqual([sv.specVersion, sv.revision], [3, 4]);
});

Deno.test("fsm: renaming a service moves its name index", () => {
  const s = emptyState();
  applyCommand(s, { kind: "service.create", at, service: service("a") });
  applyCommand(s, { kind: "service.create", at, service: service("b") });
  assert.throws(
    () =>
      applyCommand(s, {
        kind: "service.update",
        at,
        id: "a",
        spec: service("x", { name: "b" }).spec,
      }),
    AlreadyExistsError,
  );
  applyCommand(s, { kind: "service.update", at, id: "a", spec: service("x", { name: "c" }).spec });
  assert.equal(s.serviceIdByName.get("c"), "a");
  assert.equal(s.serviceIdByName.has("a"), false);
});

Deno.test("fsm: task states only move forward; deleting a service shuts its tasks down", () => {
  const s = emptyState();
  applyCommand(s, { kind: "service.create", at, service: service("web") });
  applyCommand(s, { kind: "task.create", at, tasks: [task("t1", "web", 1), task("t2", "web", 2)] });
  assert.throws(
    () => applyCommand(s, { kind: "task.create", at, tasks: [task("t3", "ghost", 1)] }),
    NotFoundError,
  );
  const status = (state: "running" | "assigned") => ({
    state,
    message: "",
    health: "none" as const,
    timestamp: at,
  });
  let r = applyCommand(s, {
    kind: "task.update",
    at,
    changes: [{ id: "t1", status: status("running"), nodeId: "n1" }],
  });
  assert.equal(r.result, 1);
  r = applyCommand(s, {
    kind: "task.update",
    at,
    changes: [{ id: "t1", status: status("assigned") }, { id: "gone" }],
  });
  assert.equal(r.result, 0, "backward moves and unknown tasks are ignored");
  assert.equal(s.tasks.get("t1")!.status.state, "running");
  assert.deepEqual([...s.taskIdsByNode.get("n1")!], ["t1"]);
  const del = applyCommand(s, { kind: "service.delete", at, id: "web" });
  assert.deepEqual(del.changes.map((c) => c.kind).sort(), ["service", "task", "task"]);
  assert.equal(s.tasks.get("t2")!.desiredState, "shutdown");
});

Deno.test("fsm: secrets and volumes in use cannot be deleted", () => {
  const s = emptyState();
  const secret = {
    id: "s1",
    name: "db-pass",
    version: 1,
    labels: {},
    createdAt: at,
    encrypted: { ciphertext: "AAAA", nonce: "AAAA", keyId: "k1" },
  };
  applyCommand(s, { kind: "secret.create", at, secret });
  applyCommand(s, {
    kind: "volume.create",
    at,
    volume: {
      id: "v1",
      name: "data",
      driver: "local",
      options: {},
      labels: {},
      createdAt: at,
      updatedAt: at,
    },
  });
  applyCommand(s, {
    kind: "service.create",
    at,
    service: service("db", {
      secrets: [{ secret: "db-pass" }],
      mounts: [{ type: "volume", source: "data", target: "/data" }],
    }),
  });
  assert.throws(
    () => applyCommand(s, { kind: "secret.delete", at, id: "s1" }),
    /in use by service "db"/,
  );
  assert.throws(
    () => applyCommand(s, { kind: "volume.delete", at, id: "v1" }),
    /in use by service "db"/,
  );
  applyCommand(s, { kind: "service.delete", at, id: "db" });
  applyCommand(s, { kind: "secret.delete", at, id: "s1" });
  applyCommand(s, { kind: "volume.delete", at, id: "v1" });
  assert.equal(s.secrets.size + s.volumes.size, 0);
});

Deno.test("fsm: a published port another service holds is refused at apply time, state unchanged", () => {
  const s = emptyState();
  const ports = (...p: object[]) => ({ ports: p.map((x) => ({ target: 80, ...x })) });
  const create = (id: string, spec: object) =>
    applyCommand(s, {
      kind: "service.create",
      at,
      service: service(id, spec),
      exclusivePorts: true,
    });
  create("p1", ports({ published: 8080 }));
  const before = structuredClone(toSnapshot(s));
  const indexBefore = structuredClone(s.serviceIdsByPublishedPort);
  const taken = (fn: () => unknown, field: string, holder: string, how: RegExp) =>
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof FailedPreconditionError, String(e));
      assert.equal(
        e.message.split(": port ")[0],
        field,
        `the message names the field: ${e.message}`,
      );
      assert.match(e.message, new RegExp(`already in use by service "${holder}"`));
      assert.match(e.message, how);
      return true;
    });
  taken(() => create("p2", ports({ published: 8080 })), "spec.ports[0].published", "p1", /ingress/);
  // An ingress port clashes with a host-mode one on the same number, whichever comes first.
  taken(
    () => create("p2", ports({ published: 9000 }, { published: 8080, publishMode: "host" })),
    "spec.ports[1].published",
    "p1",
    /8080\/tcp/,
  );
  assert.deepEqual(toSnapshot(s), before, "a refused create changes nothing");
  assert.deepEqual(s.serviceIdsByPublishedPort, indexBefore);
  create("h1", ports({ published: 7070, publishMode: "host" }));
  taken(
    () => create("p2", ports({ published: 7070 })),
    "spec.ports[0].published",
    "h1",
    /host-mode/,
  );
  assert.deepEqual(s.serviceIdByName.has("p2"), false);
  // Updates: claiming a held port is refused; keeping one's own is fine.
  create("web", {});
  taken(
    () =>
      applyCommand(s, {
        kind: "service.update",
        at,
        id: "web",
        spec: service("web", ports({ published: 8080 })).spec,
        exclusivePorts: true,
      }),
    "spec.ports[0].published",
    "p1",
    /ingress/,
  );
  assert.equal(s.services.get("web")!.specVersion, 1, "state unchanged");
  const p1v2 = service("p1", { ...ports({ published: 8080 }), image: "registry.local/app:2" });
  applyCommand(s, { kind: "service.update", at, id: "p1", spec: p1v2.spec, exclusivePorts: true });
  // Host/host sharing (the scheduler's host-ports filter keeps the tasks apart), TCP next to
  // UDP on one number: no clash.
  create("h2", ports({ published: 7070, publishMode: "host" }));
  create("u1", ports({ published: 8080, protocol: "udp" }));
  // Rollback claims the previous spec's ports again: refused when someone took one since.
  applyCommand(s, {
    kind: "service.update",
    at,
    id: "p1",
    spec: service("p1", ports({ published: 8081 })).spec,
    exclusivePorts: true,
  });
  create("p3", ports({ published: 8080 }));
  taken(
    () => applyCommand(s, { kind: "service.rollback", at, id: "p1", exclusivePorts: true }),
    "spec.ports[0].published",
    "p3",
    /ingress/,
  );
  // Deleting the holder frees its port.
  applyCommand(s, { kind: "service.delete", at, id: "p3" });
  applyCommand(s, { kind: "service.rollback", at, id: "p1", exclusivePorts: true });
  assert.deepEqual([...s.serviceIdsByPublishedPort.get("8080/tcp")!], ["p1"]);
  // Log entries from before the rule replay as they were accepted: shared ports and all.
  applyCommand(s, {
    kind: "service.create",
    at,
    service: service("old", ports({ published: 8080 })),
  });
  assert.deepEqual([...s.serviceIdsByPublishedPort.get("8080/tcp")!].sort(), ["old", "p1"]);
  // The index is rebuilt from a snapshot exactly.
  assert.deepEqual(
    fromSnapshot(toSnapshot(s)).serviceIdsByPublishedPort,
    s.serviceIdsByPublishedPort,
  );
});

Deno.test("fsm: volume.bind binds an unbound volume once; another node is refused", () => {
  const s = emptyState();
  const volume = {
    id: "v1",
    name: "data",
    driver: "local" as const,
    options: {},
    labels: {},
    createdAt: at,
    updatedAt: at,
  };
  applyCommand(s, { kind: "volume.create", at, volume });
  const r = applyCommand(s, { kind: "volume.bind", at: at + 1, id: "v1", nodeId: "n1" });
  assert.deepEqual(r.changes.map((c) => [c.kind, c.action]), [["volume", "update"]]);
  assert.equal(s.volumes.get("v1")!.nodeId, "n1");
  assert.equal(s.volumes.get("v1")!.updatedAt, at + 1);
  assert.deepEqual(
    applyCommand(s, { kind: "volume.bind", at, id: "v1", nodeId: "n1" }).changes,
    [],
  );
  assert.throws(
    () => applyCommand(s, { kind: "volume.bind", at, id: "v1", nodeId: "n2" }),
    /bound to node n1, not n2/,
  );
  assert.throws(() => applyCommand(s, { kind: "volume.bind", at, id: "nope", nodeId: "n1" }));
});

Deno.test("fsm: a ready node is removed only with force; re-registering keeps operator settings", () => {
  const s = emptyState();
  applyCommand(s, { kind: "node.register", at, node: node("n1") });
  applyCommand(s, {
    kind: "node.update",
    at,
    id: "n1",
    update: { availability: "drain", labelsAdd: { zone: "edge" }, labelsRemove: [] },
  });
  applyCommand(s, { kind: "node.register", at: at + 1, node: { ...node("n1"), labels: {} } });
  assert.equal(s.nodes.get("n1")!.availability, "drain");
  assert.equal(s.nodes.get("n1")!.labels.zone, "edge");
  assert.throws(
    () => applyCommand(s, { kind: "node.remove", at, id: "n1", force: false }),
    /is ready/,
  );
  applyCommand(s, { kind: "node.remove", at, id: "n1", force: true });
  assert.equal(s.nodes.size, 0);
});

/** Random command sequences over a small name space, so conflicts are frequent. */
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    n: fc.constantFrom("a", "b", "c"),
    r: fc.nat(5),
    port: fc.constantFrom(undefined, 8080, 8081),
    exclusive: fc.boolean(),
  }).map(({ n, r, port, exclusive }): Command => ({
    kind: "service.create",
    at,
    service: service(`id-${n}-${r}`, {
      name: n,
      replicas: r,
      ports: port === undefined ? [] : [{ target: 80, published: port }],
    }),
    ...(exclusive ? { exclusivePorts: true as const } : {}),
  })),
  fc.record({ n: fc.constantFrom("a", "b", "c"), r: fc.nat(5), keep: fc.boolean() }).map((
    { n, r, keep },
  ): Command => ({
    kind: "service.scale",
    at,
    id: `id-${n}-${r}`,
    replicas: r + 1,
    ...(keep ? { keepsPreviousSpec: true as const } : {}),
  })),
  fc.record({ n: fc.constantFrom("a", "b", "c"), r: fc.nat(5) }).map(({ n, r }): Command => ({
    kind: "service.delete",
    at,
    id: `id-${n}-${r}`,
  })),
  fc.record({
    n: fc.constantFrom("a", "b", "c"),
    r: fc.nat(5),
    slot: fc.integer({ min: 1, max: 3 }),
  })
    .map(({ n, r, slot }): Command => ({
      kind: "task.create",
      at,
      tasks: [task(`t-${n}-${r}-${slot}`, `id-${n}-${r}`, slot)],
    })),
  fc.constantFrom("n1", "n2").map((id): Command => ({ kind: "node.register", at, node: node(id) })),
);

Deno.test("fsm: same commands give the same state; snapshot/restore is exact (property)", () => {
  fc.assert(
    fc.property(fc.array(commandArb, { maxLength: 60 }), fc.nat(60), (cmds, cut) => {
      const a = run(cmds);
      const b = run(cmds);
      assert.deepEqual(toSnapshot(a), toSnapshot(b));
      // Snapshot mid-way, restore, apply the rest: same as applying all.
      const k = Math.min(cut, cmds.length);
      const mid = run(cmds.slice(0, k));
      const restored = fromSnapshot(JSON.parse(JSON.stringify(toSnapshot(mid))));
      run(cmds.slice(k), restored);
      assert.deepEqual(toSnapshot(restored), toSnapshot(a));
      assert.deepEqual(restored.serviceIdByName, a.serviceIdByName);
      assert.deepEqual(restored.taskIdsByService, a.taskIdsByService);
      assert.deepEqual(restored.serviceIdsByPublishedPort, a.serviceIdsByPublishedPort);
    }),
    { numRuns: 200 },
  );
});

Deno.test("fsm: nodes get the lowest free subnet; exhaustion is a clear error on that node", () => {
  const s = emptyState();
  applyCommand(s, {
    kind: "cluster.init",
    at,
    cluster: {
      id: "c1",
      name: "c",
      createdAt: at,
      cidrs: { clusterCidr: "10.240.0.0/23", serviceCidr: "10.96.0.0/16", nodeSubnetBits: 24 },
    },
  });
  applyCommand(s, { kind: "node.register", at, node: node("n1") });
  applyCommand(s, { kind: "node.register", at, node: node("n2") });
  assert.deepEqual([...s.nodeSubnets], [["n1", "10.240.0.0/24"], ["n2", "10.240.1.0/24"]]);
  assert.throws(
    () => applyCommand(s, { kind: "node.register", at, node: node("n3") }),
    /cannot add node "host-n3": all 2 node subnets/,
  );
  assert.equal(s.nodes.has("n3"), false, "a failed registration changes nothing");
  applyCommand(s, { kind: "node.remove", at, id: "n1", force: true });
  applyCommand(s, { kind: "node.register", at, node: node("n3") });
  assert.equal(s.nodeSubnets.get("n3"), "10.240.0.0/24");
});

Deno.test("fsm: updating a secret makes a new version and rolls the services using it", () => {
  const s = emptyState();
  const enc = { ciphertext: "AAAA", nonce: "AAAA", keyId: "k1" };
  applyCommand(s, {
    kind: "secret.create",
    at,
    secret: { id: "s1", name: "tls", version: 1, labels: {}, createdAt: at, encrypted: enc },
  });
  applyCommand(s, {
    kind: "service.create",
    at,
    service: service("web", { secrets: [{ secret: "tls" }] }),
  });
  applyCommand(s, { kind: "service.create", at, service: service("other") });
  const r = applyCommand(s, {
    kind: "secret.update",
    at,
    id: "s1",
    encrypted: { ...enc, ciphertext: "BBBB" },
    labels: {},
  });
  assert.equal(s.secrets.get("s1")!.version, 2);
  assert.equal(s.services.get("web")!.specVersion, 2);
  assert.equal(s.services.get("other")!.specVersion, 1);
  assert.deepEqual(r.changes.map((c) => c.kind), ["secret", "service"]);
});

Deno.test("fsm: vip services get the lowest free virtual IP; dnsrr ones none; exhaustion is clear", () => {
  const s = emptyState();
  applyCommand(s, {
    kind: "cluster.init",
    at,
    cluster: {
      id: "c1",
      name: "c",
      createdAt: at,
      cidrs: { clusterCidr: "10.240.0.0/16", serviceCidr: "10.96.0.0/29", nodeSubnetBits: 24 },
    },
  });
  applyCommand(s, { kind: "service.create", at, service: service("a") });
  applyCommand(s, { kind: "service.create", at, service: service("b", { endpointMode: "dnsrr" }) });
  applyCommand(s, { kind: "service.create", at, service: service("c") });
  assert.equal(s.services.get("a")!.vip, "10.96.0.2");
  assert.equal(s.services.get("b")!.vip, undefined);
  assert.equal(s.services.get("c")!.vip, "10.96.0.3");
  applyCommand(s, {
    kind: "service.update",
    at,
    id: "a",
    spec: service("a", { image: "registry.local/app:2" }).spec,
  });
  assert.equal(s.services.get("a")!.vip, "10.96.0.2", "an update keeps the VIP");
  for (const n of ["d", "e", "f"]) {
    applyCommand(s, { kind: "service.create", at, service: service(n) });
  }
  assert.throws(
    () => applyCommand(s, { kind: "service.create", at, service: service("g") }),
    /cannot give service "g" a virtual IP: all 5 addresses of 10.96.0.0\/29 are in use/,
  );
  applyCommand(s, { kind: "service.delete", at, id: "c" });
  applyCommand(s, { kind: "service.create", at, service: service("g") });
  assert.equal(s.services.get("g")!.vip, "10.96.0.3", "a freed VIP is reused");
});

Deno.test("fsm: VIPs stay the lowest free ones through creates, mode changes and deletes (property)", () => {
  const init: Command = {
    kind: "cluster.init",
    at,
    cluster: {
      id: "c1",
      name: "c",
      createdAt: at,
      cidrs: { clusterCidr: "10.240.0.0/16", serviceCidr: "10.96.0.0/28", nodeSubnetBits: 24 },
    },
  };
  const names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o"];
  const vipCmd: fc.Arbitrary<Command> = fc.oneof(
    fc.constantFrom(...names).map((n): Command => ({
      kind: "service.create",
      at,
      service: service(n),
    })),
    fc.constantFrom(...names).map((n): Command => ({ kind: "service.delete", at, id: n })),
    fc.record({ n: fc.constantFrom(...names), dnsrr: fc.boolean() }).map((
      { n, dnsrr },
    ): Command => ({
      kind: "service.update",
      at,
      id: n,
      spec: service(n, { endpointMode: dnsrr ? "dnsrr" : "vip" }).spec,
    })),
  );
  // The lowest free address, found the slow way: the hint must never change the answer.
  const lowestFree = (s: ClusterState) => {
    const used = new Set([...s.services.values()].map((sv) => sv.vip));
    for (let i = 2; i < 15; i++) if (!used.has(`10.96.0.${i}`)) return `10.96.0.${i}`;
    return undefined;
  };
  fc.assert(
    fc.property(fc.array(vipCmd, { maxLength: 80 }), fc.nat(80), (cmds, cut) => {
      const s = run([init]);
      for (const [i, c] of cmds.entries()) {
        const created = c.kind === "service.create" && !s.services.has(c.service.id)
          ? c.service.id
          : undefined;
        const expect = created === undefined ? undefined : lowestFree(s);
        run([c], s);
        if (created !== undefined) assert.equal(s.services.get(created)?.vip, expect);
        if (i === cut) {
          const restored = fromSnapshot(JSON.parse(JSON.stringify(toSnapshot(s))));
          run(cmds.slice(i + 1), restored);
          run(cmds.slice(i + 1), s);
          assert.deepEqual(toSnapshot(restored), toSnapshot(s));
          assert.deepEqual(restored.serviceIdByVip, s.serviceIdByVip);
          break;
        }
      }
      const byVip = new Map(
        [...s.services.values()].filter((sv) => sv.vip).map((sv) => [sv.vip!, sv.id]),
      );
      assert.deepEqual(s.serviceIdByVip, byVip);
    }),
    { numRuns: 300 },
  );
});

Deno.test("fsm: cluster.autolock sets and clears the sealed unlock key; needs the cluster's keys", () => {
  const sealed = { keyId: "dk-1", nonce: "AAAAAAAAAAAAAAAA", ciphertext: "AAAA" };
  assert.throws(
    () => applyCommand(emptyState(), { kind: "cluster.autolock", at, unlockKey: sealed }),
    FailedPreconditionError,
  );
  const security = {
    caCertPem: "-----BEGIN CERTIFICATE-----",
    caKey: sealed,
    dataKeys: [{ keyId: "dk-1", kekId: "k1", wrapped: "AAAA" }],
  };
  const cluster = { id: "c1", name: "c", createdAt: at, cidrs: {}, security };
  const s = run([{ kind: "cluster.init", at, cluster } as Command]);
  run([{ kind: "cluster.autolock", at, unlockKey: sealed }], s);
  assert.deepEqual(s.cluster?.security?.unlockKey, sealed);
  assert.deepEqual(s.cluster?.security?.dataKeys, security.dataKeys);
  const back = fromSnapshot(JSON.parse(JSON.stringify(toSnapshot(s))));
  assert.deepEqual(back.cluster?.security?.unlockKey, sealed);
  run([{ kind: "cluster.autolock", at }], s);
  assert.equal(s.cluster?.security?.unlockKey, undefined);
  assert.equal("unlockKey" in (s.cluster?.security ?? {}), false);

  // replaces: applied only over what the writer saw; a stale one changes nothing.
  const other = { ...sealed, nonce: "BBBBBBBBBBBBBBBB" };
  run([{ kind: "cluster.autolock", at, unlockKey: sealed, replaces: null }], s);
  assert.deepEqual(s.cluster?.security?.unlockKey, sealed);
  for (const replaces of [null, other]) {
    assert.throws(
      () => applyCommand(s, { kind: "cluster.autolock", at, unlockKey: other, replaces }),
      (e) => e instanceof FailedPreconditionError && /unlock key changed/.test(e.message),
    );
    assert.deepEqual(s.cluster?.security?.unlockKey, sealed, "unchanged");
  }
  run([{ kind: "cluster.autolock", at, unlockKey: other, replaces: sealed }], s);
  assert.deepEqual(s.cluster?.security?.unlockKey, other);
});
