import assert from "node:assert/strict";
import { diffKeyed, nodeView, serviceEndpoints } from "./assignments.ts";
import { applyCommand } from "../state/fsm.ts";
import { emptyState } from "../state/fsm_state.ts";
import type { Command } from "../state/commands.ts";
import { node, service, task } from "../state/_fixtures_test_util.ts";
import { ServiceSpecSchema, type Task } from "../../proto/schema/mod.ts";

const entry = (sig: string) => ({ value: sig, sig });

Deno.test("diffKeyed: upserts changed and new entries, removes missing ones", () => {
  const prev = new Map([["a", { sig: "1" }], ["b", { sig: "1" }], ["c", { sig: "1" }]]);
  const next = new Map([["a", entry("1")], ["b", entry("2")], ["d", entry("1")]]);
  assert.deepEqual(diffKeyed(prev, next), { upserts: ["2", "1"], removed: ["c"] });
});

Deno.test("diffKeyed: a skipped key is treated as absent (a node's own peer entry)", () => {
  const shared = new Map([["self", entry("s")], ["other", entry("o")]]);
  assert.deepEqual(diffKeyed(new Map(), shared, "self"), { upserts: ["o"], removed: [] });
  // Sent earlier (before the fix, or by an older leader): removed now.
  assert.deepEqual(diffKeyed(new Map([["self", { sig: "s" }]]), shared, "self"), {
    upserts: ["o"],
    removed: ["self"],
  });
});

Deno.test("nodeView: a node gets only the secrets (and registry login) of its own tasks", () => {
  const s = emptyState();
  for (
    const cmd of [
      { kind: "node.register", at: 1, node: node("n1") },
      { kind: "node.register", at: 1, node: node("n2") },
      {
        kind: "service.create",
        at: 1,
        service: service("db", {
          secrets: [{ secret: "db-pass" }],
          registryAuthSecret: "reg-login",
        }),
      },
      { kind: "service.create", at: 1, service: service("web", { secrets: [{ secret: "tls" }] }) },
    ] as Command[]
  ) applyCommand(s, cmd);
  const placed = (id: string, serviceId: string, nodeId: string) => {
    const t = task(id, serviceId, 1);
    return { ...t, nodeId, status: { ...t.status, state: "assigned" as const } };
  };
  applyCommand(s, {
    kind: "task.create",
    at: 1,
    tasks: [placed("t1", "db", "n1"), placed("t2", "web", "n2")],
  });
  assert.deepEqual([...nodeView(s, "n1").secretNames].sort(), ["db-pass", "reg-login"]);
  assert.deepEqual([...nodeView(s, "n2").secretNames], ["tls"]);
  assert.deepEqual([...nodeView(s, "n3").secretNames], []);
});

Deno.test("nodeView: a service change that leaves a task as it is does not resend the task", () => {
  const s = emptyState();
  applyCommand(s, { kind: "node.register", at: 1000, node: node("w1") });
  applyCommand(s, { kind: "service.create", at: 1000, service: service("web") });
  const assigned = (id: string, slot: number) => ({
    ...task(id, "web", slot),
    nodeId: "w1",
    status: { state: "assigned" as const, message: "", health: "none" as const, timestamp: 1000 },
  });
  applyCommand(s, { kind: "task.create", at: 1000, tasks: [assigned("t1", 1)] });
  const before = nodeView(s, "w1").assignments;
  // Scaling (and a rolling update's progress) touch the service, not task t1's definition: a
  // resend would make the worker decode t1 and its spec again for every step of a scale-up.
  applyCommand(s, { kind: "service.scale", at: 2000, id: "web", replicas: 2 });
  applyCommand(s, { kind: "task.create", at: 2000, tasks: [assigned("t2", 2)] });
  const after = nodeView(s, "w1").assignments;
  assert.deepEqual(diffKeyed(before, after).upserts.map((a) => a.task.id), ["t2"]);
  // A new desired state is what the worker acts on: that is sent.
  applyCommand(s, {
    kind: "task.update",
    at: 3000,
    changes: [{ id: "t1", desiredState: "shutdown" }],
  });
  const stopping = diffKeyed(after, nodeView(s, "w1").assignments).upserts;
  assert.deepEqual(stopping.map((a) => [a.task.id, a.task.desiredState]), [["t1", "shutdown"]]);
});

Deno.test("nodeView: a task of the version a rolling update moves away from keeps its own spec", () => {
  const s = emptyState();
  applyCommand(s, { kind: "node.register", at: 1000, node: node("w1") });
  applyCommand(s, {
    kind: "service.create",
    at: 1000,
    service: service("web", { secrets: [{ secret: "old-pass" }] }),
  });
  const assigned = (id: string, specVersion: number) => ({
    ...task(id, "web", 1),
    specVersion,
    nodeId: "w1",
    status: { state: "running" as const, message: "", health: "none" as const, timestamp: 1000 },
  });
  applyCommand(s, { kind: "task.create", at: 1000, tasks: [assigned("t1", 1)] });
  applyCommand(s, {
    kind: "service.update",
    at: 2000,
    id: "web",
    spec: ServiceSpecSchema.parse({
      name: "web",
      image: "registry.local/app:2",
      secrets: [{ secret: "new-pass" }],
    }),
  });
  // The rolling update has not reached t1 yet: a resync (a restarted worker) still sends it the
  // spec it was made from, and the node keeps its secret.
  const v = nodeView(s, "w1");
  assert.equal(v.assignments.get("t1")!.value.spec.image, "registry.local/app:1");
  assert.deepEqual([...v.secretNames], ["old-pass"]);
});

Deno.test("nodeView: every volume that may have data on the node; it leaves only when deleted", () => {
  const s = emptyState();
  const volume = (id: string, nodeId?: string) => ({
    id,
    name: `vol-${id}`,
    driver: "local" as const,
    ...(nodeId ? { nodeId } : {}),
    options: {},
    labels: {},
    createdAt: 1,
    updatedAt: 1,
  });
  for (
    const cmd of [
      { kind: "node.register", at: 1, node: node("n1") },
      { kind: "node.register", at: 1, node: node("n2") },
      { kind: "volume.create", at: 1, volume: volume("here", "n1") },
      { kind: "volume.create", at: 1, volume: volume("unbound") },
      { kind: "volume.create", at: 1, volume: volume("there", "n2") },
    ] as Command[]
  ) applyCommand(s, cmd);
  // No task mounts them: the worker still learns they exist (so it keeps their data).
  const before = nodeView(s, "n1").volumes;
  assert.deepEqual([...before.keys()].sort(), ["here", "unbound"]);
  applyCommand(s, { kind: "volume.delete", at: 2, id: "here" });
  assert.deepEqual(diffKeyed(before, nodeView(s, "n1").volumes), {
    upserts: [],
    removed: ["here"],
  });
});

Deno.test("serviceEndpoints: a checked task is balanced to once healthy, not while starting or unhealthy", () => {
  const s = emptyState();
  applyCommand(s, { kind: "node.register", at: 1, node: node("n1") });
  applyCommand(s, { kind: "service.create", at: 1, service: service("web") });
  const running = (id: string, ip: string, health: Task["status"]["health"]): Task => {
    const t = task(id, "web", Number(id.slice(1)));
    return { ...t, nodeId: "n1", status: { ...t.status, state: "running", ip, health } };
  };
  applyCommand(s, {
    kind: "task.create",
    at: 1,
    tasks: [
      running("t1", "10.0.0.1", "none"),
      running("t2", "10.0.0.2", "healthy"),
      // As in Swarm: a task whose check has not passed yet (a start-first update's new task, a
      // restarted one) gets no connections, nor one that failed its check and is being stopped.
      running("t3", "10.0.0.3", "starting"),
      running("t4", "10.0.0.4", "unhealthy"),
    ],
  });
  assert.deepEqual(serviceEndpoints(s).get("web")?.value.taskIps, ["10.0.0.1", "10.0.0.2"]);
});
