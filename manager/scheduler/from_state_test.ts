import assert from "node:assert/strict";
import { emptyState, indexTask } from "../state/fsm_state.ts";
import { node, service, task } from "../state/_fixtures_test_util.ts";
import type { Task, TaskState } from "../../proto/schema/mod.ts";
import { snapshotFromState } from "./from_state.ts";
import { schedule } from "./schedule.ts";
import { xoshiro128 } from "../raft/core/prng.ts";

function assigned(
  id: string,
  svc: string,
  nodeId: string,
  o: Partial<Task> & { state?: TaskState } = {},
): Task {
  const t = task(id, svc, 1);
  return {
    ...t,
    nodeId,
    ...o,
    status: { ...t.status, state: o.state ?? "running" },
  };
}

Deno.test("snapshotFromState keeps assigned non-terminal tasks with their spec's needs", () => {
  const s = emptyState();
  s.nodes.set("n1", node("n1"));
  const web = service("web", {
    resources: { reservations: { nanoCpus: 5e8, memoryBytes: 256 * 2 ** 20 } },
    ports: [{ target: 80, published: 8080, publishMode: "host" }, { target: 81, published: 81 }],
    mounts: [{ type: "volume", source: "data", target: "/data" }, {
      type: "tmpfs",
      target: "/tmp",
    }],
  });
  // During an update, tasks of the previous version reserve what the previous spec said.
  const updated = {
    ...web,
    specVersion: 2,
    previousSpec: web.spec,
    spec: { ...web.spec, resources: { limits: {}, reservations: { nanoCpus: 1e9 } } },
  };
  s.services.set("web", updated);
  indexTask(s, assigned("t-old", "web", "n1", { specVersion: 1 }));
  indexTask(s, assigned("t-new", "web", "n1", { specVersion: 2, desiredState: "shutdown" }));
  indexTask(s, assigned("t-done", "web", "n1", { state: "complete" }));
  indexTask(s, task("t-pending", "web", 4));
  const snap = snapshotFromState(s);
  assert.equal(snap.nodes.length, 1);
  assert.equal(snap.services.get("web"), updated);
  assert.deepEqual(snap.tasks, [
    {
      id: "t-old",
      serviceId: "web",
      nodeId: "n1",
      reservations: { nanoCpus: 5e8, memoryBytes: 256 * 2 ** 20 },
      hostPorts: ["8080/tcp"],
      volumes: ["data"],
      stopping: false,
    },
    {
      id: "t-new",
      serviceId: "web",
      nodeId: "n1",
      reservations: { nanoCpus: 1e9, memoryBytes: 0 },
      hostPorts: ["8080/tcp"],
      volumes: ["data"],
      stopping: true,
    },
  ]);
});

Deno.test("a full store snapshot schedules: parsed Node and Service objects fit the inputs", () => {
  const s = emptyState();
  s.nodes.set("n1", node("n1"));
  s.nodes.set("n2", node("n2"));
  s.services.set(
    "web",
    service("web", { replicas: 2, resources: { reservations: { nanoCpus: 1e9 } } }),
  );
  indexTask(s, assigned("web.1", "web", "n1"));
  const plan = schedule(snapshotFromState(s), {
    place: [{ taskId: "web.2", serviceId: "web", slot: 2 }],
  }, {
    now: 5,
    rand: xoshiro128(3),
  });
  assert.deepEqual(plan.place, [{ taskId: "web.2", serviceId: "web", nodeId: "n2" }]);
});

Deno.test("a task of a version older than both kept specs is counted with what it recorded", () => {
  // An update on top of an unfinished rollout: v1's task still runs, the service keeps only v2
  // (previous) and v3 (current), which reserve less, publish another port and mount no volume.
  const s = emptyState();
  s.nodes.set("n1", node("n1"));
  const v2 = service("web", { resources: { reservations: { nanoCpus: 1e8 } } });
  const v3 = service("web", {
    resources: { reservations: { nanoCpus: 2e8 } },
    ports: [{ target: 80, published: 9090, publishMode: "host" }],
  });
  s.services.set("web", {
    ...v3,
    specVersion: 3,
    previousSpec: v2.spec,
    previousSpecVersions: [2],
  });
  indexTask(
    s,
    assigned("t-v1", "web", "n1", {
      specVersion: 1,
      reserves: {
        nanoCpus: 15e8,
        memoryBytes: 2 ** 30,
        hostPorts: [{ published: 8080, protocol: "udp" }],
        volumes: ["data"],
      },
    }),
  );
  // The same task from before tasks recorded anything: the previous spec is the best guess.
  indexTask(s, assigned("t-v1-old", "web", "n1", { specVersion: 1 }));
  // A current task that recorded nothing to reserve: zero, not the current spec's reservation.
  indexTask(
    s,
    assigned("t-v3", "web", "n1", {
      specVersion: 3,
      reserves: { nanoCpus: 0, memoryBytes: 0, hostPorts: [], volumes: [] },
    }),
  );
  const byId = new Map(snapshotFromState(s).tasks.map((t) => [t.id, t]));
  assert.deepEqual(byId.get("t-v1"), {
    id: "t-v1",
    serviceId: "web",
    nodeId: "n1",
    reservations: { nanoCpus: 15e8, memoryBytes: 2 ** 30 },
    hostPorts: ["8080/udp"],
    volumes: ["data"],
    stopping: false,
  });
  assert.deepEqual(byId.get("t-v1-old")?.reservations, { nanoCpus: 1e8, memoryBytes: 0 });
  assert.deepEqual(byId.get("t-v1-old")?.hostPorts, []);
  assert.deepEqual(byId.get("t-v3")?.reservations, { nanoCpus: 0, memoryBytes: 0 });
  assert.deepEqual(byId.get("t-v3")?.hostPorts, []);
});

Deno.test("the scheduler sees the CPU an older version's task holds: a new task does not fit beside it", () => {
  const s = emptyState();
  s.nodes.set("n1", node("n1")); // 2 CPUs
  s.services.set("web", {
    ...service("web", { replicas: 2, resources: { reservations: { nanoCpus: 1e9 } } }),
    specVersion: 3,
    previousSpec: service("web", { resources: { reservations: { nanoCpus: 5e8 } } }).spec,
  });
  // Version 1 reserved 1.5 CPUs; neither spec the service keeps says so.
  indexTask(
    s,
    assigned("web.1", "web", "n1", {
      specVersion: 1,
      reserves: { nanoCpus: 15e8, memoryBytes: 0, hostPorts: [], volumes: [] },
    }),
  );
  const plan = schedule(snapshotFromState(s), {
    place: [{ taskId: "web.2", serviceId: "web", slot: 2 }],
  }, { now: 5, rand: xoshiro128(3) });
  assert.deepEqual(plan.place, []);
  assert.equal(plan.pending.length, 1);
  assert.equal(plan.pending[0]!.reason, "no suitable node (1 node: 1 lacks 1 CPU)");
});
