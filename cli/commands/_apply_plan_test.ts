import assert from "node:assert/strict";
import { ValidationError } from "../../proto/errors.ts";
import * as d from "../../proto/schema/mod.ts";
import { diffValues, formatPlan, parseApplyFile, planApply } from "./_apply_plan.ts";

const FILE = `
kind: Service
spec:
  name: web
  image: busybox:1.36
  replicas: 2
  ports: [{ target: 80, published: 8080 }]
---
kind: Service
name: api
image: api:2
---
kind: Secret
name: db-pass
value: s3cret
---
kind: Volume
name: data
labels: { tier: "fast" }
---
`;

function service(spec: d.ServiceSpecInput, id: string): d.Service {
  return { id, spec: d.ServiceSpecSchema.parse(spec), specVersion: 4, createdAt: 1, updatedAt: 1 };
}

function rejects(text: string, field: string, pattern: RegExp): void {
  assert.throws(() => parseApplyFile(text), (err: unknown) => {
    assert.ok(err instanceof ValidationError, String(err));
    assert.equal(err.field, field);
    assert.match(err.message, pattern);
    return true;
  });
}

Deno.test("apply: documents parse into validated objects with defaults", () => {
  const docs = parseApplyFile(FILE);
  assert.deepEqual(docs.map((x) => `${x.kind}/${x.name}`), [
    "Service/web",
    "Service/api",
    "Secret/db-pass",
    "Volume/data",
  ]);
  const web = docs[0]!;
  assert.ok(web.kind === "Service");
  assert.equal(web.spec.restartPolicy.condition, "any");
  const secret = docs[2]!;
  assert.ok(secret.kind === "Secret");
  assert.deepEqual(secret.source, { value: "s3cret" });
});

Deno.test("apply: a service's env may be a mapping, as in compose files", () => {
  const [web] = parseApplyFile(
    "kind: Service\nname: web\nimage: busybox:1.36\nenv: { MODE: prod, WORKERS: 4, DEBUG: false }\n",
  );
  assert.ok(web?.kind === "Service");
  assert.deepEqual(web.spec.env, ["MODE=prod", "WORKERS=4", "DEBUG=false"]);
  assert.throws(
    () => parseApplyFile("kind: Service\nname: web\nimage: busybox:1.36\nenv: { A: [1] }\n"),
    (e) => e instanceof ValidationError && e.field === "doc[0].env.A",
  );
});

Deno.test("apply: bad documents name the document and field", () => {
  rejects(
    "kind: Service\nspec: { name: web, image: x, replicas: -1 }",
    "doc[0].spec.replicas",
    /at least 0/,
  );
  rejects(
    "kind: Service\nname: web\nimage: x\n---\nkind: Service\nname: web\nimage: y",
    "doc[1]",
    /again/,
  );
  rejects("kind: Job\nname: x", "doc[0].kind", /must be Service, Secret or Volume/);
  rejects("kind: Secret\nname: s", "doc[0].value", /one of value, file or data/);
  rejects("kind: Secret\nname: s\nvalue: a\nfile: b", "doc[0].file", /exactly one/);
  rejects("kind: Volume\nname: v\nsize: 3", "doc[0].size", /not a known field/);
  rejects(
    "kind: Volume\nname: v\noptions: { size: 1G }",
    "doc[0].options.size",
    /not an option of the local volume driver/,
  );
  rejects("kind: Service\nspec: { name: web, image: x }\nimage: y", "doc[0].image", /not both/);
  rejects("kind: Service\nspec: { name: web, image: x }\nbogus: 1", "doc[0].bogus", /not a known/);
  rejects("kind: Volume\nspec: { name: v }\nbogus: 1", "doc[0].bogus", /not a known field/);
  // The field is named where the file has it: inline, or under spec.
  rejects("kind: Service\nname: web\nimage: x\nenv: A=1", "doc[0].env", /expected array/);
  rejects("kind: Volume\nspec: { name: v, driver: nfs }", "doc[0].spec.driver", /local/);
  rejects("kind: Volume\nspec: { name: v, size: 3 }", "doc[0].spec.size", /not a known field/);
  rejects("name: web\nimage: x", "doc[0].kind", /^doc\[0\]\.kind: is required: Service, Secret/);
  rejects("- a\n- b", "doc[0]", /mapping/);
  rejects("kind: [", "doc[0]", /not valid YAML/);
});

Deno.test("apply: plan creates what is missing, updates what differs, leaves the rest", () => {
  const desired = parseApplyFile(FILE);
  const current = {
    services: [
      service({
        name: "web",
        image: "busybox:1.36",
        replicas: 3,
        ports: [{ target: 80, published: 8080 }],
      }, "s1"),
      service({ name: "api", image: "api:2" }, "s2"),
      service({ name: "other", image: "x:1" }, "s3"),
    ],
    secrets: [{ id: "k1", name: "db-pass", version: 1, labels: {}, createdAt: 1 }],
    volumes: [],
  };
  const plan = planApply(current, desired);
  assert.deepEqual(plan.items.map((i) => [i.kind, i.name, i.action]), [
    ["Secret", "db-pass", "unchanged"],
    ["Volume", "data", "create"],
    ["Service", "web", "update"],
    ["Service", "api", "unchanged"],
  ]);
  assert.deepEqual(plan.items[2]!.changes, [{ path: "replicas", from: 3, to: 2 }]);
  assert.equal(plan.items[2]!.id, "s1");
  assert.equal(plan.items[2]!.specVersion, 4);
  assert.equal(plan.changes, 2);
  assert.equal(plan.conflicts, 0);
  assert.equal(
    formatPlan(plan),
    [
      "= secret db-pass: unchanged",
      "+ volume data: create",
      "~ service web: update",
      "    replicas: 3 -> 2",
      "= service api: unchanged",
      "1 to create, 1 to update, 2 unchanged",
    ].join("\n"),
  );
  // Applying the same file to the state it produced plans nothing.
  const after = {
    services: [service({ ...current.services[0]!.spec, replicas: 2 }, "s1"), current.services[1]!],
    secrets: current.secrets,
    volumes: [{
      id: "v1",
      name: "data",
      driver: "local" as const,
      options: {},
      labels: { tier: "fast" },
      createdAt: 1,
      updatedAt: 1,
    }],
  };
  const again = planApply(after, desired);
  assert.equal(again.changes, 0);
  assert.ok(again.items.every((i) => i.action === "unchanged"));
});

Deno.test("apply: volumes that differ are conflicts; secrets with new labels are updated", () => {
  const desired = parseApplyFile(
    "kind: Volume\nname: data\nnodeId: n2\n---\nkind: Secret\nname: s\nvalue: x\nlabels: {a: b}",
  );
  const plan = planApply({
    services: [],
    secrets: [{ id: "k1", name: "s", version: 1, labels: {}, createdAt: 1 }],
    volumes: [{
      id: "v1",
      name: "data",
      driver: "local",
      nodeId: "n1",
      options: {},
      labels: {},
      createdAt: 1,
      updatedAt: 1,
    }],
  }, desired);
  assert.equal(plan.conflicts, 1);
  assert.deepEqual(plan.items.map((i) => [i.name, i.action, i.changes]), [
    ["s", "update", [{ path: "labels.a", from: undefined, to: "b" }]],
    ["data", "conflict", [{ path: "nodeId", from: "n1", to: "n2" }]],
  ]);
  assert.match(formatPlan(plan), /0 to create, 1 to update, 0 unchanged, 1 in conflict$/);
});

Deno.test("apply: a secret whose data the manager found changed is updated", () => {
  const desired = parseApplyFile("kind: Secret\nname: s\nvalue: x");
  const current = {
    services: [],
    secrets: [{ id: "k1", name: "s", version: 3, labels: {}, createdAt: 1 }],
    volumes: [],
  };
  assert.equal(planApply(current, desired).items[0]!.action, "unchanged");
  const plan = planApply({ ...current, secretDataChanged: new Set(["s"]) }, desired);
  assert.deepEqual(plan.items.map((i) => [i.name, i.action, i.id, i.changes]), [
    ["s", "update", "k1", [{ path: "data", from: "(current)", to: "(from the file)" }]],
  ]);
  assert.equal(
    formatPlan(plan),
    [
      "~ secret s: update (a new version 4: services using it roll)",
      '    data: "(current)" -> "(from the file)"',
      "0 to create, 1 to update, 0 unchanged",
    ].join("\n"),
  );
});

Deno.test("apply: diffValues reports paths, array elements and length changes", () => {
  assert.deepEqual(diffValues({ a: 1, b: [1, 2], c: { d: "x" } }, { a: 1, b: [1, 3], c: {} }), [
    { path: "b[1]", from: 2, to: 3 },
    { path: "c.d", from: "x", to: undefined },
  ]);
  assert.deepEqual(diffValues({ b: [1] }, { b: [1, 2] }), [{ path: "b", from: [1], to: [1, 2] }]);
  assert.deepEqual(diffValues(1, 1), []);
});

Deno.test("apply: what the manager would refuse is a conflict before anything is sent", () => {
  const current = {
    services: [
      service({ name: "gl", image: "x:1", mode: "global" }, "s1"),
      service({ name: "hr-good", image: "x:1" }, "s2"),
      service({ name: "p1", image: "x:1", ports: [{ target: 80, published: 8080 }] }, "s3"),
    ],
    secrets: [{ id: "k1", name: "reg", version: 1, labels: {}, createdAt: 1 }],
    volumes: [],
  };
  const plan = planApply(
    current,
    parseApplyFile(`
kind: Secret
name: hr-secret
value: x
---
kind: Service
name: hr-new
image: x:1
secrets: [{ secret: hr-secret }, { secret: reg }]
---
kind: Service
name: hr-bad
image: x:1
secrets: [{ secret: hr-secret }, { secret: does-not-exist }]
---
kind: Service
name: hr-good
image: x:1
registryAuthSecret: nosuch
---
kind: Service
name: gl
image: x:1
---
kind: Service
name: p2
image: x:1
ports: [{ target: 80, published: 8080 }]
`),
  );
  assert.deepEqual(plan.items.map((i) => [i.name, i.action, i.reason]), [
    ["hr-secret", "create", undefined],
    ["hr-new", "create", undefined],
    [
      "hr-bad",
      "conflict",
      `spec.secrets[1].secret: secret "does-not-exist" does not exist: create it first with ` +
      `'warren secret create does-not-exist'`,
    ],
    [
      "hr-good",
      "conflict",
      `spec.registryAuthSecret: secret "nosuch" does not exist: create it first with ` +
      `'warren secret create nosuch'`,
    ],
    ["gl", "conflict", "spec.mode: cannot change from global to replicated; create a new service"],
    [
      "p2",
      "conflict",
      'spec.ports[0].published: port 8080/tcp is already in use by service "p1" as an ingress ' +
      'port (published on every node): publish another port, or remove it from "p1" first',
    ],
  ]);
  assert.equal(plan.conflicts, 4);
  assert.match(formatPlan(plan), /^! service gl: conflict \(spec\.mode: cannot change/m);
});

Deno.test("apply: published ports are checked in apply's order among the file's services", () => {
  const p1 = service({ name: "p1", image: "x:1", ports: [{ target: 80, published: 8080 }] }, "s1");
  const current = { services: [p1], secrets: [], volumes: [] };
  const doc = (name: string, published: number, mode = "ingress") =>
    `kind: Service\nname: ${name}\nimage: x:1\n` +
    `ports: [{ target: 80, published: ${published}, publishMode: ${mode} }]\n---\n`;
  const actions = (file: string) =>
    planApply(current, parseApplyFile(file)).items.map((i) => `${i.name}:${i.action}`);
  // Two new services on one port: the second is refused, naming the first.
  const two = planApply(current, parseApplyFile(doc("a", 9090) + doc("b", 9090)));
  assert.deepEqual(two.items.map((i) => i.action), ["create", "conflict"]);
  assert.match(two.items[1]!.reason!, /9090\/tcp is already in use by service "a"/);
  // Moving a port: p1 lets 8080 go before b takes it; the other way round b would be refused.
  assert.deepEqual(actions(doc("p1", 8081) + doc("b", 8080)), ["p1:update", "b:create"]);
  assert.deepEqual(actions(doc("b", 8080) + doc("p1", 8081)), ["b:conflict", "p1:update"]);
  // Host-mode ports may share a number; a service keeps its own port.
  assert.deepEqual(actions(doc("h1", 7070, "host") + doc("h2", 7070, "host")), [
    "h1:create",
    "h2:create",
  ]);
  assert.deepEqual(
    actions("kind: Service\nname: p1\nimage: x:2\nports: [{ target: 80, published: 8080 }]"),
    ["p1:update"],
  );
});

Deno.test("apply: a mounted volume that does not exist is created by the manager: a note", () => {
  const plan = planApply(
    { services: [], secrets: [], volumes: [] },
    parseApplyFile(`
kind: Volume
name: declared
---
kind: Service
name: db
image: x:1
mounts: [{ type: volume, source: declared, target: /a }, { type: volume, source: cache, target: /b }]
`),
  );
  assert.deepEqual(plan.items.map((i) => [i.name, i.action]), [
    ["declared", "create"],
    ["db", "create"],
  ]);
  assert.equal(plan.conflicts, 0);
  assert.equal(
    plan.items[1]!.reason,
    'volume "cache" does not exist: created where the first task runs',
  );
});

Deno.test("apply: a volume the file does not pin is unchanged once bound to a node", () => {
  const volume = {
    id: "v1",
    name: "data",
    driver: "local" as const,
    nodeId: "n1", // bound by the manager where the first task mounting it landed
    options: {},
    labels: {},
    createdAt: 1,
    updatedAt: 2,
  };
  const unpinned = planApply(
    { services: [], secrets: [], volumes: [volume] },
    parseApplyFile("kind: Volume\nname: data"),
  );
  assert.deepEqual(unpinned.items.map((i) => [i.name, i.action, i.changes]), [
    ["data", "unchanged", []],
  ]);
  assert.equal(unpinned.conflicts, 0);
  // Pinned in the file to another node: still a conflict (its data lives on n1).
  const pinned = planApply(
    { services: [], secrets: [], volumes: [volume] },
    parseApplyFile("kind: Volume\nname: data\nnodeId: n2"),
  );
  assert.deepEqual(pinned.items.map((i) => [i.action, i.changes]), [
    ["conflict", [{ path: "nodeId", from: "n1", to: "n2" }]],
  ]);
});

Deno.test("apply: a volume pinned by host name is unchanged on the node of that name", () => {
  const volume = {
    id: "v1",
    name: "data",
    driver: "local" as const,
    nodeId: "n1", // `volume create --node edge-1` / a file's `nodeId: edge-1`, stored by ID
    options: {},
    labels: {},
    createdAt: 1,
    updatedAt: 1,
  };
  const nodes = [{ id: "n1", hostname: "edge-1" }, { id: "n2", hostname: "edge-2" }];
  const plan = (file: string) =>
    planApply({ services: [], secrets: [], volumes: [volume], nodes }, parseApplyFile(file))
      .items.map((i) => [i.action, i.changes]);
  assert.deepEqual(plan("kind: Volume\nname: data\nnodeId: edge-1"), [["unchanged", []]]);
  assert.deepEqual(plan("kind: Volume\nname: data\nnodeId: n1"), [["unchanged", []]]);
  assert.deepEqual(plan("kind: Volume\nname: data\nnodeId: edge-2"), [
    ["conflict", [{ path: "nodeId", from: "n1", to: "edge-2" }]],
  ]);
});
