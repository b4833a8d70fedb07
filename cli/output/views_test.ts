import assert from "node:assert/strict";
import * as d from "../../proto/schema/mod.ts";
import { renderList } from "./format.ts";
import { eventLine, formatPort, nodeView, serviceView, taskView } from "./views.ts";

const NOW = Date.UTC(2024, 4, 1, 10, 0, 0);

Deno.test("views: ports read like docker's", () => {
  const port = (p: d.ServiceSpecInput["ports"]) => d.PortsSchema.parse(p)[0]!;
  assert.equal(formatPort(port([{ target: 80, published: 8080 }])), "*:8080->80/tcp");
  assert.equal(
    formatPort(port([{ target: 53, published: 53, protocol: "udp", publishMode: "host" }])),
    "53->53/udp (host)",
  );
  assert.equal(formatPort(port([{ target: 9000 }])), "9000/tcp");
});

Deno.test("views: service ls shows running/desired, mode, image and ports", () => {
  const web: d.Service = {
    id: "s1",
    spec: d.ServiceSpecSchema.parse({
      name: "web",
      image: "busybox:1.36",
      replicas: 3,
      ports: [{ target: 80, published: 8080 }],
    }),
    specVersion: 1,
    createdAt: 0,
    updatedAt: 0,
  };
  const agent: d.Service = {
    ...web,
    id: "s2",
    spec: d.ServiceSpecSchema.parse({ name: "agent", image: "agent:1", mode: "global" }),
  };
  const out = renderList(
    [{ service: web, running: 2, desired: 3 }, { service: agent, running: 1, desired: 2 }],
    serviceView(),
    { format: "table" },
  );
  assert.equal(
    out,
    [
      "ID   NAME    MODE         REPLICAS   IMAGE          PORTS",
      "s1   web     replicated   2/3        busybox:1.36   *:8080->80/tcp",
      "s2   agent   global       1/2        agent:1",
    ].join("\n"),
  );
});

Deno.test("views: tasks are named service.slot with node host names and ages", () => {
  const task = d.TaskSchema.parse({
    id: "t1",
    serviceId: "s1",
    slot: 2,
    nodeId: "n1",
    specVersion: 1,
    desiredState: "running",
    status: { state: "running", timestamp: NOW - 120_000 },
    createdAt: 0,
    updatedAt: 0,
  });
  const pending = d.TaskSchema.parse({
    ...task,
    id: "t2",
    slot: 3,
    nodeId: undefined,
    status: { state: "pending", message: "no node has 2 GiB memory free", timestamp: NOW },
  });
  const view = taskView(
    { service: () => "web", node: (id) => id === "n1" ? "edge-1" : undefined },
    NOW,
  );
  assert.deepEqual(view.row(task), [
    "t1",
    "web.2",
    "edge-1",
    "running",
    "running 2 minutes ago",
    "",
  ]);
  assert.deepEqual(view.row(pending), [
    "t2",
    "web.3",
    "",
    "running",
    "pending less than a second ago",
    "no node has 2 GiB memory free",
  ]);
});

Deno.test("views: nodes mark the leader; events are one line each", () => {
  const node = d.NodeSchema.parse({
    id: "n1",
    hostname: "edge-1",
    role: "manager",
    addresses: { advertise: "10.0.0.1", api: "10.0.0.1:4242" },
    platform: { arch: "amd64" },
    version: "0.1.0",
    createdAt: 0,
    updatedAt: 0,
    status: { state: "ready" },
  });
  assert.deepEqual(nodeView({ leaderId: "n1" }).row(node), [
    "n1",
    "edge-1",
    "ready",
    "active",
    "manager (leader)",
    "10.0.0.1",
    "0.1.0",
  ]);
  assert.equal(
    eventLine({ index: 42, kind: "node", action: "update", timestamp: NOW, node }),
    "2024-05-01T10:00:00.000Z  #42  node update  edge-1 (n1)",
  );
});
