import assert from "node:assert/strict";
import { assertInvalid } from "./_test_util.ts";
import { parseOrThrow } from "./parse.ts";
import { ServiceSpecSchema } from "./service_spec.ts";

const base = { name: "web", image: "registry.local:5000/team/web:1.2" };
const spec = (extra: Record<string, unknown>) => ({ ...base, ...extra });

Deno.test("ServiceSpec: minimal spec gets Swarm-like defaults", () => {
  const s = parseOrThrow(ServiceSpecSchema, base);
  assert.equal(s.mode, "replicated");
  assert.equal(s.replicas, 1);
  assert.deepEqual(s.restartPolicy, {
    condition: "any",
    delayMs: 5000,
    maxAttempts: 0,
    windowMs: 0,
  });
  assert.deepEqual(s.updateConfig, {
    parallelism: 1,
    delayMs: 0,
    failureAction: "pause",
    monitorMs: 5000,
    maxFailureRatio: 0,
    order: "stop-first",
  });
  assert.equal(s.rollbackConfig.failureAction, "pause");
  assert.equal(s.endpointMode, "vip");
  assert.equal(s.stopSignal, "SIGTERM");
  assert.equal(s.stopGracePeriodMs, 10_000);
  assert.deepEqual(s.deployment, { strategy: "rolling" });
  assert.deepEqual(s.resources, { limits: {}, reservations: {} });
  assert.deepEqual([s.command, s.args, s.env, s.ports, s.mounts, s.secrets], [
    [],
    [],
    [],
    [],
    [],
    [],
  ]);
  assert.equal("healthCheck" in s, false);
});

Deno.test("ServiceSpec: a full realistic spec parses and keeps its values", () => {
  const s = parseOrThrow(ServiceSpecSchema, {
    ...base,
    command: ["/bin/httpd"],
    args: ["-f", "-p", "8080"],
    env: ["PORT=8080", "GREETING=a=b"],
    workdir: "/srv",
    user: "1000:1000",
    hostname: "web-host",
    replicas: 0,
    resources: {
      limits: { nanoCpus: 500_000_000, memoryBytes: 64 * 1024 * 1024 },
      reservations: { nanoCpus: 250_000_000, memoryBytes: 32 * 1024 * 1024 },
    },
    constraints: ["node.labels.zone==edge", "node.role!=manager", "node.platform.arch==amd64"],
    preferences: [{ spread: "node.labels.rack" }],
    maxReplicasPerNode: 2,
    ports: [{ name: "http", target: 8080, published: 80 }, {
      protocol: "udp",
      target: 53,
      published: 53,
      publishMode: "host",
    }],
    secrets: [{ secret: "db-password" }, { secret: "tls", target: "cert.pem", mode: 0o400 }],
    mounts: [
      { type: "volume", source: "data", target: "/data" },
      { type: "bind", source: "/etc/ssl", target: "/etc/ssl", readOnly: true },
      { type: "tmpfs", target: "/tmp" },
    ],
    healthCheck: { type: "http", http: { path: "/healthz", port: 8080 }, intervalMs: 1000 },
    restartPolicy: { condition: "on-failure", maxAttempts: 3 },
    updateConfig: { parallelism: 2, order: "start-first", failureAction: "rollback" },
    deployment: {
      strategy: "canary",
      canary: { steps: [{ weightPercent: 10 }, { weightPercent: 50, pauseMs: 60_000 }] },
    },
    stopSignal: "SIGQUIT",
    readOnlyRootfs: true,
    labels: { "com.example/team": "web" },
  });
  assert.equal(s.replicas, 0);
  assert.equal(s.ports[0]!.protocol, "tcp");
  assert.equal(s.ports[0]!.publishMode, "ingress");
  assert.equal(s.secrets[0]!.target, "db-password");
  assert.equal(s.secrets[0]!.mode, 0o444);
  assert.equal(s.secrets[1]!.target, "cert.pem");
  assert.equal(s.mounts[0]!.readOnly, false);
  assert.deepEqual(s.healthCheck?.http, {
    path: "/healthz",
    port: 8080,
    statusMin: 200,
    statusMax: 399,
  });
  assert.equal(s.healthCheck?.intervalMs, 1000);
  assert.equal(s.healthCheck?.timeoutMs, 5000);
  assert.equal(s.deployment.canary?.steps[0]?.pauseMs, 30_000);
});

Deno.test("ServiceSpec: global mode has no replicas", () => {
  const s = parseOrThrow(ServiceSpecSchema, spec({ mode: "global" }));
  assert.equal(s.mode, "global");
  assert.equal("replicas" in s, false);
  assertInvalid(
    ServiceSpecSchema,
    spec({ mode: "global", replicas: 2 }),
    "replicas",
    /global mode/,
  );
});

Deno.test("ServiceSpec: bad values name the field and the reason", () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [spec({ replicas: -1 }), "replicas", /at least 0/],
    [spec({ replicas: 10_001 }), "replicas", /at most 10000/],
    [spec({ replicas: 1.5 }), "replicas", /integer/],
    [spec({ name: "Web_1" }), "name", /DNS label/],
    [spec({ name: "-web" }), "name", /DNS label/],
    [spec({ name: "web-" }), "name", /DNS label/],
    [spec({ name: "a".repeat(64) }), "name", /at most 63/],
    [spec({ name: "" }), "name", /empty/],
    [{ image: "busybox" }, "name", /is required/],
    [spec({ image: "" }), "image", /empty/],
    [spec({ image: "Busy Box" }), "image", /repository path component/],
    [spec({ image: "busybox:-bad" }), "image", /tag/],
    [spec({ image: "busybox@sha256:123" }), "image", /digest/],
    [spec({ env: ["NOVALUE"] }), "env[0]", /KEY=VALUE/],
    [spec({ env: ["1X=y"] }), "env[0]", /must start with a letter/],
    [spec({ env: ["A=1", "B=2", "A=3"] }), "env[2]", /sets A again/],
    [spec({ workdir: "srv" }), "workdir", /absolute path/],
    [spec({ workdir: "/srv/../etc" }), "workdir", /'\.\.'/],
    [spec({ user: "a b" }), "user", /user:group/],
    [spec({ mode: "daemon" }), "mode", /Invalid option/],
    [
      spec({
        resources: { limits: { memoryBytes: 8 << 20 }, reservations: { memoryBytes: 9 << 20 } },
      }),
      "resources.reservations.memoryBytes",
      /must not exceed limits\.memoryBytes/,
    ],
    [
      spec({ resources: { limits: { nanoCpus: 1e9 }, reservations: { nanoCpus: 2e9 } } }),
      "resources.reservations.nanoCpus",
      /must not exceed/,
    ],
    [
      spec({ resources: { limits: { memoryBytes: 1024 } } }),
      "resources.limits.memoryBytes",
      /4 MiB/,
    ],
    [spec({ constraints: ["node.labels.zone=edge"] }), "constraints[0]", /must look like/],
    [spec({ constraints: ["node.color==red"] }), "constraints[0]", /unknown attribute/],
    [spec({ constraints: ["node.role==boss"] }), "constraints[0]", /manager or worker/],
    [spec({ constraints: Array(33).fill("node.role==worker") }), "constraints", /too big|at most/i],
    [spec({ preferences: [{ spread: "zone" }] }), "preferences[0].spread", /node\.labels\.KEY/],
    [spec({ ports: [{ target: 0 }] }), "ports[0].target", /Too small|>=1/],
    [spec({ ports: [{ target: 80, published: 65536 }] }), "ports[0].published", /Too big|<=65535/],
    [spec({ ports: [{ target: 80, protocol: "sctp" }] }), "ports[0].protocol", /Invalid option/],
    [
      spec({ ports: [{ target: 80, published: 8080 }, { target: 81, published: 8080 }] }),
      "ports[1].published",
      /publishes 8080\/tcp again/,
    ],
    [
      spec({ endpointMode: "dnsrr", ports: [{ target: 80, published: 80 }] }),
      "ports[0].publishMode",
      /ingress publishing needs endpointMode vip/,
    ],
    [spec({ secrets: [{ secret: "a", target: "x/y" }] }), "secrets[0].target", /file name/],
    [
      spec({ secrets: [{ secret: "a" }, { secret: "b", target: "a" }] }),
      "secrets[1].target",
      /again/,
    ],
    [spec({ secrets: [{ secret: "a", mode: 0o1000 }] }), "secrets[0].mode", /Too big|<=511/],
    [
      spec({ mounts: [{ type: "volume", target: "/data" }] }),
      "mounts[0].source",
      /required for volume/,
    ],
    [
      spec({ mounts: [{ type: "volume", source: "Data!", target: "/d" }] }),
      "mounts[0].source",
      /volume name/,
    ],
    [
      spec({ mounts: [{ type: "bind", source: "rel", target: "/d" }] }),
      "mounts[0].source",
      /host path/,
    ],
    [
      spec({ mounts: [{ type: "tmpfs", source: "x", target: "/t" }] }),
      "mounts[0].source",
      /absent for tmpfs/,
    ],
    [spec({ mounts: [{ type: "tmpfs", target: "t" }] }), "mounts[0].target", /absolute/],
    [
      spec({ mounts: [{ type: "bind", source: "/", target: "/" }] }),
      "mounts[0].target",
      /must not be \/ \(a mount cannot replace the container's root file system\)/,
    ],
    [
      spec({ mounts: [{ type: "tmpfs", target: "/t" }, { type: "tmpfs", target: "/t" }] }),
      "mounts[1].target",
      /again/,
    ],
    [spec({ healthCheck: { type: "http" } }), "healthCheck.http", /required when type is http/],
    [
      spec({ healthCheck: { type: "tcp", tcp: { port: 1 }, exec: { command: ["true"] } } }),
      "healthCheck.exec",
      /absent when type is tcp/,
    ],
    [
      spec({ healthCheck: { type: "http", http: { port: 80, statusMin: 500, statusMax: 200 } } }),
      "healthCheck.http.statusMin",
      /statusMax/,
    ],
    [
      spec({ healthCheck: { type: "tcp", tcp: { port: 80 }, intervalMs: 10 } }),
      "healthCheck.intervalMs",
      /at least 100 ms/,
    ],
    [
      spec({ healthCheck: { type: "exec", exec: { command: [] } } }),
      "healthCheck.exec.command",
      /at least one/,
    ],
    [spec({ restartPolicy: { condition: "always" } }), "restartPolicy.condition", /Invalid option/],
    [
      spec({ updateConfig: { maxFailureRatio: 1.5 } }),
      "updateConfig.maxFailureRatio",
      /Too big|<=1/,
    ],
    [
      spec({ rollbackConfig: { failureAction: "rollback" } }),
      "rollbackConfig.failureAction",
      /cannot roll back/,
    ],
    [
      spec({ deployment: { strategy: "canary" } }),
      "deployment.canary",
      /required when strategy is canary/,
    ],
    [
      spec({
        deployment: {
          strategy: "canary",
          canary: { steps: [{ weightPercent: 50 }, { weightPercent: 20 }] },
        },
      }),
      "deployment.canary.steps[1].weightPercent",
      /greater than the previous/,
    ],
    [
      spec({ deployment: { strategy: "rolling", blueGreen: {} } }),
      "deployment.blueGreen",
      /absent when strategy is rolling/,
    ],
    [spec({ stopSignal: "TERM" }), "stopSignal", /signal name/],
    [spec({ stopSignal: "SIGFOO" }), "stopSignal", /"SIGFOO" is not a signal/],
    [spec({ stopSignal: "99" }), "stopSignal", /or a number 1-64/],
    [spec({ stopGracePeriodMs: -1 }), "stopGracePeriodMs", /Too small|>=0/],
    [spec({ labels: { "bad key": "x" } }), 'labels["bad key"]', /key must be/],
    [spec({ labels: { k: "v".repeat(257) } }), "labels.k", /at most 256/],
    [
      spec({ labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"])) }),
      "labels",
      /at most 64 entries/,
    ],
    [spec({ replica: 3 }), "replica", /not a known field/],
    [spec({ command: ["x".repeat(4097)] }), "command[0]", /at most 4096/],
  ];
  for (const [value, field, reason] of cases) {
    assertInvalid(ServiceSpecSchema, value, field, reason);
  }
});

Deno.test("ServiceSpec: rootField prefixes the path", () => {
  assertInvalid(
    ServiceSpecSchema,
    spec({ ports: [{ target: 70000 }] }),
    "spec.ports[0].target",
    /65535/,
    "spec",
  );
});

Deno.test("ServiceSpec: dnsrr with host-mode ports is allowed", () => {
  const s = parseOrThrow(
    ServiceSpecSchema,
    spec({ endpointMode: "dnsrr", ports: [{ target: 80, published: 80, publishMode: "host" }] }),
  );
  assert.equal(s.endpointMode, "dnsrr");
});

Deno.test("ServiceSpec: same published port on tcp and udp is allowed", () => {
  const s = parseOrThrow(
    ServiceSpecSchema,
    spec({
      ports: [{ target: 53, published: 53 }, { target: 53, published: 53, protocol: "udp" }],
    }),
  );
  assert.equal(s.ports.length, 2);
});

Deno.test("ServiceSpec: no mount onto the container's / (as Docker), named spec.mounts[i].target", () => {
  for (const target of ["/", "//"]) {
    for (const type of ["bind", "volume", "tmpfs"]) {
      const source = type === "bind" ? "/" : type === "volume" ? "root" : undefined;
      const mounts = [{ type: "tmpfs", target: "/tmp" }, { type, source, target }];
      assertInvalid(
        ServiceSpecSchema,
        spec({ mounts }),
        "spec.mounts[1].target",
        /must not be \//,
        "spec",
      );
    }
  }
  parseOrThrow(
    ServiceSpecSchema,
    spec({ mounts: [{ type: "bind", source: "/", target: "/host" }] }),
  );
});
