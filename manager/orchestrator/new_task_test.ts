import assert from "node:assert/strict";
import { applyCommand } from "../state/fsm.ts";
import { type ClusterState, emptyState } from "../state/fsm_state.ts";
import { service } from "../state/_fixtures_test_util.ts";
import { BINARY_FEATURE_LEVEL, TASK_RESERVES_LEVEL } from "../state/fsm_feature_level.ts";
import { decodeCommand, encodeCommand } from "../state/commands.ts";
import { snapshotFromState } from "../scheduler/mod.ts";
import { newTasks } from "./new_task.ts";

const at = 5000;

/** A cluster at feature level `level` with a service "web" at spec version 2. */
function cluster(level: number): ClusterState {
  const s = emptyState();
  applyCommand(s, {
    kind: "cluster.init",
    at,
    cluster: {
      id: "c1",
      name: "c",
      createdAt: at,
      cidrs: { clusterCidr: "10.240.0.0/16", serviceCidr: "10.96.0.0/16", nodeSubnetBits: 24 },
      featureLevel: level,
    },
  }, BINARY_FEATURE_LEVEL);
  s.services.set("web", {
    ...service("web", {
      resources: { reservations: { nanoCpus: 5e8, memoryBytes: 64 * 2 ** 20 } },
      ports: [
        { target: 80, published: 8080, publishMode: "host" },
        { target: 53, published: 5353, protocol: "udp", publishMode: "host" },
        { target: 81, published: 81 }, // ingress: bound on every node, not the task's
      ],
      mounts: [
        { type: "volume", source: "data", target: "/data" },
        { type: "bind", source: "/etc/app", target: "/etc/app" },
      ],
    }),
    specVersion: 2,
  });
  return s;
}

function ids(): () => string {
  let n = 0;
  return () => `t${++n}`;
}

Deno.test("new tasks record what their spec reserves from feature level 2, and keep it through the log", () => {
  assert.equal(TASK_RESERVES_LEVEL, 2);
  assert.ok(BINARY_FEATURE_LEVEL >= TASK_RESERVES_LEVEL, "this binary writes it");
  const s = cluster(TASK_RESERVES_LEVEL);
  const [t] = newTasks([{ serviceId: "web", slot: 1, specVersion: 2 }], {
    state: s,
    now: at,
    newId: ids(),
  });
  assert.deepEqual(t!.reserves, {
    nanoCpus: 5e8,
    memoryBytes: 64 * 2 ** 20,
    hostPorts: [{ published: 8080, protocol: "tcp" }, { published: 5353, protocol: "udp" }],
    volumes: ["data"],
  });
  // The command as the log carries it, decoded and applied by a manager of this binary.
  const cmd = decodeCommand(encodeCommand({ kind: "task.create", at, tasks: [t!] }));
  applyCommand(s, cmd, BINARY_FEATURE_LEVEL);
  assert.deepEqual(s.tasks.get("t1"), t);
  // Assigned, it holds its own record even after the service changed its spec.
  applyCommand(s, {
    kind: "task.update",
    at,
    changes: [{ id: "t1", nodeId: "n1", status: { ...t!.status, state: "assigned" } }],
  }, BINARY_FEATURE_LEVEL);
  s.services.set("web", { ...service("web"), specVersion: 3 });
  assert.deepEqual(snapshotFromState(s).tasks[0]?.reservations, {
    nanoCpus: 5e8,
    memoryBytes: 64 * 2 ** 20,
  });
  assert.deepEqual(snapshotFromState(s).tasks[0]?.hostPorts, ["8080/tcp", "5353/udp"]);
});

Deno.test("below feature level 2 the FSM drops reserves as a level-1 manager does", () => {
  const made = newTasks([{ serviceId: "web", slot: 1, specVersion: 2 }], {
    state: cluster(TASK_RESERVES_LEVEL),
    now: at,
    newId: ids(),
  });
  assert.ok(made[0]!.reserves, "made at level 2, it has reserves");
  const { reserves: _, ...asLevelOne } = made[0]!;
  // A level-1 cluster is handed the entry anyway (a proposer that skipped the gate): the
  // task is stored as every manager of the cluster stores it, without the field.
  const s = cluster(1);
  applyCommand(s, decodeCommand(encodeCommand({ kind: "task.create", at, tasks: made })), 2);
  assert.deepEqual(s.tasks.get("t1"), asLevelOne);
});

Deno.test("below feature level 2 new tasks are made as before, without reserves", () => {
  const s = cluster(1);
  const made = newTasks([
    { serviceId: "web", slot: 1, specVersion: 2 },
    { serviceId: "web", nodeId: "n1", specVersion: 2 },
  ], { state: s, now: at, newId: ids() });
  assert.deepEqual(made, [
    {
      id: "t1",
      serviceId: "web",
      slot: 1,
      specVersion: 2,
      desiredState: "running",
      status: {
        state: "pending",
        message: "waiting to be scheduled",
        health: "none",
        timestamp: at,
      },
      createdAt: at,
      updatedAt: at,
    },
    {
      id: "t2",
      serviceId: "web",
      nodeId: "n1",
      specVersion: 2,
      desiredState: "running",
      status: {
        state: "pending",
        message: "waiting to be scheduled",
        health: "none",
        timestamp: at,
      },
      createdAt: at,
      updatedAt: at,
    },
  ]);
  assert.ok(made.every((t) => !("reserves" in t)));
});

Deno.test("a decision for a version the service no longer has records nothing rather than a wrong spec", () => {
  const s = cluster(TASK_RESERVES_LEVEL);
  const made = newTasks([
    { serviceId: "web", slot: 1, specVersion: 1 },
    { serviceId: "gone", slot: 1, specVersion: 2 },
    { serviceId: "web", slot: 2, specVersion: 2 },
  ], { state: s, now: at, newId: ids() });
  assert.deepEqual(made.map((t) => t.reserves?.nanoCpus), [undefined, undefined, 5e8]);
});
