import assert from "node:assert/strict";
import fc from "fast-check";
import { type Codec, codecs, enums, fromWire, type MessageName, toWire } from "./convert.ts";
import { ValidationError } from "./errors.ts";
import * as w from "./gen/warren.ts";
import * as d from "./schema/mod.ts";

type AnyCodec = Codec<unknown, unknown>;
type AnyFns = w.MessageFns<unknown>;

/** domain → wire → protobuf bytes → wire → domain. */
function roundTrip(name: MessageName, value: unknown): unknown {
  const c = codecs[name] as unknown as AnyCodec;
  const fns = (w as unknown as Record<string, AnyFns>)[name]!;
  const bytes = fns.encode(c.toWire(value)).finish();
  return c.fromWire(fns.decode(bytes));
}

/** The same trip decoding without validation, as clients decode what managers answer. */
function roundTripTrusted(name: MessageName, value: unknown): unknown {
  const c = codecs[name] as unknown as AnyCodec;
  const fns = (w as unknown as Record<string, AnyFns>)[name]!;
  return c.fromWireTrusted(fns.decode(fns.encode(c.toWire(value)).finish()));
}

function fromWireError(name: MessageName, message: unknown, field?: string): ValidationError {
  try {
    (codecs[name] as unknown as AnyCodec).fromWire(message, field);
  } catch (err) {
    assert.ok(err instanceof ValidationError, `expected ValidationError, got ${err}`);
    return err;
  }
  throw new Error(`expected ${name} to be rejected`);
}

// ---- realistic samples, one or more per message ------------------------------------------------

const KEY = "Wg0uCkJrYmFzZTY0a2V5Zm9yd2lyZWd1YXJkdGVzdDA=";
const node = d.NodeSchema.parse({
  id: "node-1",
  hostname: "worker-1",
  role: "manager",
  addresses: { advertise: "10.0.0.2", api: "10.0.0.2:4242", raft: "10.0.0.2:4240" },
  labels: { zone: "edge", "com.example/rack": "r1", empty: "" },
  resources: { nanoCpus: 2_000_000_000, memoryBytes: 24 * 2 ** 30 },
  platform: { os: "linux", arch: "arm64" },
  availability: "drain",
  status: { state: "ready", message: "ok", lastHeartbeatAt: 1_700_000_000_123 },
  wireguard: { publicKey: KEY, endpoint: "10.0.0.2:51820", subnet: "10.240.3.0/24" },
  version: "0.1.0",
  featureLevel: 3,
  createdAt: 1_700_000_000_000,
  updatedAt: Number.MAX_SAFE_INTEGER,
});
const minimalNode = d.NodeSchema.parse({
  id: "n2",
  hostname: "w2",
  role: "worker",
  addresses: { advertise: "w2.local" },
  platform: { arch: "amd64" },
  version: "0.1.0",
  createdAt: 0,
  updatedAt: 0,
});
const fullSpec = d.ServiceSpecSchema.parse({
  name: "web",
  image: "127.0.0.1:5000/team/web:1.2",
  command: ["/bin/httpd"],
  args: ["-f", "-p", "8080", ""],
  env: ["PORT=8080", "EMPTY=", "UNICODE=héllo ✓"],
  workdir: "/srv",
  user: "1000:1000",
  hostname: "web-host",
  registryAuthSecret: "registry-login",
  replicas: 0,
  resources: {
    limits: { nanoCpus: 1e9, memoryBytes: 2 ** 30 },
    reservations: { memoryBytes: 2 ** 25 },
  },
  constraints: ["node.labels.zone==edge", "node.role!=manager"],
  preferences: [{ spread: "node.labels.rack" }],
  maxReplicasPerNode: 3,
  ports: [
    { name: "http", target: 8080, published: 80 },
    { protocol: "udp", target: 53, published: 53, publishMode: "host" },
    { target: 9000 },
  ],
  secrets: [{ secret: "db" }, { secret: "tls", target: "cert.pem", mode: 0o400 }],
  mounts: [
    { type: "volume", source: "data", target: "/data" },
    { type: "bind", source: "/etc/ssl", target: "/ssl", readOnly: true },
    { type: "tmpfs", target: "/tmp" },
  ],
  healthCheck: { type: "exec", exec: { command: ["true"] }, retries: 5, startPeriodMs: 1000 },
  restartPolicy: { condition: "on-failure", delayMs: 0, maxAttempts: 3, windowMs: 60_000 },
  updateConfig: {
    parallelism: 0,
    failureAction: "rollback",
    maxFailureRatio: 0.25,
    order: "start-first",
  },
  rollbackConfig: { failureAction: "continue" },
  deployment: {
    strategy: "canary",
    canary: { steps: [{ weightPercent: 10, pauseMs: 0 }, { weightPercent: 50 }] },
  },
  stopSignal: "15",
  stopGracePeriodMs: 0,
  readOnlyRootfs: true,
  disconnectGraceMs: 0,
  labels: { team: "web" },
  containerLabels: { "com.example.logs": "json" },
});
const globalSpec = d.ServiceSpecSchema.parse({
  name: "agent",
  image: "busybox",
  mode: "global",
  endpointMode: "dnsrr",
  healthCheck: { type: "http", http: { port: 80 } },
  deployment: { strategy: "blue-green", blueGreen: { autoPromote: false } },
});
const service = d.ServiceSchema.parse({
  id: "svc-1",
  spec: fullSpec,
  previousSpec: globalSpec,
  specVersion: 7,
  sameSpecVersion: 5,
  vip: "10.96.0.10",
  updateStatus: {
    state: "rollback_started",
    message: "task web.2 failed",
    startedAt: 5,
    completedAt: 9,
  },
  createdAt: 1,
  updatedAt: 2,
});
const task = d.TaskSchema.parse({
  id: "task-1",
  serviceId: "svc-1",
  slot: 3,
  nodeId: "node-1",
  specVersion: 7,
  desiredState: "running",
  status: {
    state: "failed",
    message: "exited",
    error: "exit status 137",
    exitCode: -1,
    containerId: "abc123",
    ip: "10.240.3.7",
    health: "unhealthy",
    timestamp: 123,
  },
  createdAt: 1,
  updatedAt: 2,
  reserves: {
    nanoCpus: 5e8,
    memoryBytes: 256 * 2 ** 20,
    hostPorts: [{ published: 8080, protocol: "tcp" }, { published: 53, protocol: "udp" }],
    volumes: ["data", "logs"],
  },
});
const pendingGlobalTask = d.TaskSchema.parse({
  id: "task-2",
  serviceId: "svc-2",
  nodeId: "node-2",
  specVersion: 0,
  desiredState: "shutdown",
  status: { state: "new", timestamp: 0 },
  createdAt: 0,
  updatedAt: 0,
});
const secret = d.SecretSchema.parse({
  id: "sec-1",
  name: "db",
  version: 2,
  labels: { a: "b" },
  createdAt: 4,
});
const volume = d.VolumeSchema.parse({
  id: "vol-1",
  name: "data",
  nodeId: "node-1",
  options: { size: "1G" },
  labels: {},
  createdAt: 1,
  updatedAt: 1,
});
const cluster = d.ClusterInfoSchema.parse({
  id: "cluster-1",
  name: "warren",
  createdAt: 1,
  raft: { term: 3, leaderId: "node-1", index: 99 },
  managers: 3,
  workers: 10,
  version: "0.1.0",
  cidrs: { clusterCidr: "10.200.0.0/16", serviceCidr: "10.100.0.0/16", nodeSubnetBits: 26 },
  featureLevel: 2,
  managerFeatureLevels: [
    { nodeId: "node-1", hostname: "m1", featureLevel: 3 },
    { nodeId: "node-2" },
  ],
});
const peer = { nodeId: "node-1", apiAddress: "10.0.0.2:4242", raftAddress: "10.0.0.2:4240" };
const wg = { publicKey: KEY, endpoint: "10.0.0.3:51820", subnet: "10.240.4.0/24" };
const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);

/** Domain input per message; parsed with the message's schema before the round trip. */
const samples: { [K in MessageName]: unknown[] } = {
  Resources: [{ nanoCpus: 0, memoryBytes: 0 }, {
    nanoCpus: 1,
    memoryBytes: Number.MAX_SAFE_INTEGER,
  }],
  ResourceAmounts: [{}, { nanoCpus: 5 }, { nanoCpus: 1, memoryBytes: 4 << 20 }],
  ManagerPeer: [peer],
  Platform: [{ os: "linux", arch: "amd64" }, { os: "freebsd", arch: "arm64" }],
  NodeAddresses: [{ advertise: "::1" }, node.addresses],
  NodeStatus: [{}, node.status],
  NodeWireGuard: [wg],
  Node: [node, minimalNode],
  ServiceResources: [{}, fullSpec.resources],
  PlacementPreference: [{ spread: "node.labels.zone" }],
  Port: fullSpec.ports,
  SecretRef: fullSpec.secrets,
  Mount: fullSpec.mounts,
  HttpCheck: [{ port: 8080 }, { path: "/h?x=1", port: 1, statusMin: 100, statusMax: 599 }],
  TcpCheck: [{ port: 65535 }],
  ExecCheck: [{ command: ["sh", "-c", "test -f /ready"] }],
  HealthCheck: [fullSpec.healthCheck, globalSpec.healthCheck, { type: "tcp", tcp: { port: 5432 } }],
  RestartPolicy: [{}, fullSpec.restartPolicy, { condition: "none" }],
  UpdateConfig: [{}, fullSpec.updateConfig],
  CanaryStep: [{ weightPercent: 99, pauseMs: 86_400_000 }],
  CanaryConfig: [fullSpec.deployment.canary],
  BlueGreenConfig: [{}, { autoPromote: false, keepPreviousMs: 0 }],
  Deployment: [{}, fullSpec.deployment, globalSpec.deployment],
  ServiceSpec: [fullSpec, globalSpec, { name: "a", image: "b" }],
  UpdateStatus: [{ state: "completed", startedAt: 0, completedAt: 0 }],
  Service: [service, {
    id: "s",
    spec: { name: "a", image: "b" },
    specVersion: 0,
    createdAt: 0,
    updatedAt: 0,
  }],
  TaskStatus: [task.status, pendingGlobalTask.status],
  Task: [task, pendingGlobalTask, {
    ...pendingGlobalTask,
    // Recorded with nothing to reserve: still present after the trip (it is not "unknown").
    reserves: {},
  }],
  TaskHostPort: [{ published: 1, protocol: "udp" }, { published: 65535, protocol: "tcp" }],
  TaskReserves: [{}, task.reserves],
  Secret: [secret],
  Volume: [volume, { id: "v", name: "v", createdAt: 0, updatedAt: 0 }],
  RaftStatus: [{ term: 0, index: 0 }, cluster.raft],
  ClusterCidrs: [{}, cluster.cidrs],
  ManagerFeatureLevel: [{ nodeId: "node-2" }, { nodeId: "n1", hostname: "m1", featureLevel: 1 }],
  ClusterInfo: [cluster, { ...cluster, featureLevel: 1, managerFeatureLevels: [] }],
  GetClusterInfoRequest: [{}, { stale: true }],
  UpdateAutolockRequest: [{ autolock: false }, { autolock: true, rotate: true }],
  GetUnlockKeyRequest: [{}],
  UnlockKey: [{ autolock: false }, { autolock: true, unlockKey: `WRNKEY-${"a2".repeat(26)}` }],
  UnlockRequest: [{ unlockKey: `WRNKEY-${"z7".repeat(26)}` }],
  GetJoinTokenRequest: [{ role: "worker" }, { role: "manager", rotate: true }],
  JoinToken: [{ role: "worker", token: "SWMTKN-1-abc" }],
  JoinRequest: [
    {
      token: "t",
      hostname: "w3",
      addresses: { advertise: "10.0.0.4" },
      platform: { arch: "amd64" },
      version: "0.1.0",
      csrPem: "-----BEGIN CERTIFICATE REQUEST-----\n...\n-----END CERTIFICATE REQUEST-----\n",
    },
    {
      token: "t",
      hostname: "w3",
      addresses: node.addresses,
      resources: node.resources,
      platform: node.platform,
      labels: { zone: "a" },
      version: "0.1.0",
      csrPem: "csr",
      wireguardPublicKey: KEY,
      wireguardEndpoint: "10.0.0.4:51820",
      featureLevel: 2,
    },
  ],
  JoinResponse: [{
    nodeId: "node-3",
    role: "worker",
    certificatePem: "cert",
    caCertificatePem: "ca",
    cluster,
    managers: [peer],
    subnet: "10.240.5.0/24",
  }, {
    nodeId: "node-4",
    role: "manager",
    certificatePem: "cert",
    caCertificatePem: "ca",
    cluster,
    managers: [peer],
    subnet: "10.240.6.0/24",
    clusterKey: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    unlockKey: `WRNKEY-${"a2".repeat(26)}`,
  }],
  LeaveRequest: [{ nodeId: "node-3" }, { nodeId: "node-3", force: true }],
  RenewCertificateRequest: [{
    csrPem: "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
  }],
  IssueCertificateRequest: [{
    csrPem: "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
    name: "ops-laptop",
  }],
  CertificateResponse: [{
    certificatePem: "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n",
    caCertificatePem: "-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----\n",
  }],
  UpdateSecretRequest: [
    { id: "db-password", data: "aHVudGVyMg==", labels: { team: "db" } },
    { id: "db-password", data: "aHVudGVyMg==", labels: {}, unlessSame: true, dryRun: true },
  ],
  LeaveResponse: [{}],
  UnlockResponse: [{}],
  ListNodesRequest: [{}, { stale: true, role: "manager" }],
  ListNodesResponse: [{ nodes: [], index: 0 }, { nodes: [node, minimalNode], index: 42 }],
  InspectNodeRequest: [{ id: "node-1" }, { id: "worker-1", stale: true }],
  UpdateNodeRequest: [{ id: "n" }, {
    id: "n",
    availability: "pause",
    role: "worker",
    labelsAdd: { a: "1" },
    labelsRemove: ["b"],
  }],
  RemoveNodeRequest: [{ id: "n", force: true }],
  RemoveNodeResponse: [{}],
  CreateServiceRequest: [{ spec: fullSpec }],
  ListServicesRequest: [{ stale: false }],
  ListServicesResponse: [{ services: [service], index: 3 }],
  InspectServiceRequest: [{ id: "web" }],
  UpdateServiceRequest: [{ id: "web", spec: globalSpec }, {
    id: "web",
    spec: fullSpec,
    expectedSpecVersion: 0,
  }],
  ScaleServiceRequest: [{ id: "web", replicas: 0 }, { id: "web", replicas: 10_000 }],
  DeleteServiceRequest: [{ id: "web" }],
  DeleteServiceResponse: [{}],
  RollbackServiceRequest: [{ id: "web" }],
  ListTasksRequest: [{}, { serviceId: "web", nodeId: "node-1", history: true, stale: true }],
  ListTasksResponse: [{ tasks: [task, pendingGlobalTask], index: 8 }],
  CreateSecretRequest: [
    { name: "db", data: d.encodeBase64(bytes), labels: { k: "v" } },
    { name: "one", data: d.encodeBase64(new Uint8Array([0])) },
  ],
  ListSecretsRequest: [{ stale: true }],
  ListSecretsResponse: [{ secrets: [secret], index: 1 }],
  InspectSecretRequest: [{ id: "db" }],
  DeleteSecretRequest: [{ id: "db" }],
  DeleteSecretResponse: [{}],
  CreateVolumeRequest: [{ name: "data" }, {
    name: "data",
    nodeId: "n1",
    // The local driver takes no options (a request with one is refused); the options map is
    // covered by the stored Volume above.
    labels: { l: "x" },
  }],
  ListVolumesRequest: [{}],
  ListVolumesResponse: [{ volumes: [volume], index: 1 }],
  InspectVolumeRequest: [{ id: "data" }],
  DeleteVolumeRequest: [{ id: "data" }, { id: "data", force: true }],
  DeleteVolumeResponse: [{}],
  WatchRequest: [{}, { fromIndex: 1234, kinds: ["task", "service"] }],
  Event: [
    { index: 1, kind: "node", action: "create", timestamp: 1, node },
    { index: 2, kind: "service", action: "update", timestamp: 2, service },
    { index: 3, kind: "task", action: "delete", timestamp: 3, task },
    { index: 4, kind: "secret", action: "create", timestamp: 4, secret },
    { index: 5, kind: "volume", action: "delete", timestamp: 5, volume },
  ],
  RegisterRequest: [
    {
      nodeId: "n",
      hostname: "h",
      addresses: { advertise: "10.0.0.9" },
      platform: { arch: "amd64" },
      version: "v",
    },
    {
      nodeId: "node-1",
      hostname: node.hostname,
      addresses: node.addresses,
      resources: node.resources,
      platform: node.platform,
      version: node.version,
      wireguard: wg,
    },
  ],
  RegisterResponse: [{ sessionId: "s1", heartbeatPeriodMs: 5000, managers: [peer] }],
  HeartbeatRequest: [{ nodeId: "n", sessionId: "s1" }],
  HeartbeatResponse: [{ heartbeatPeriodMs: 1, managers: [] }],
  AssignmentsRequest: [{ nodeId: "n", sessionId: "s1" }],
  Assignment: [{ task, serviceName: "web", spec: fullSpec }],
  SecretData: [{ id: "sec-1", name: "db", data: d.encodeBase64(bytes) }],
  OverlayPeer: [{ nodeId: "n", wireguard: wg }],
  ServiceEndpoint: [
    { serviceId: "s", name: "web" },
    {
      serviceId: "s",
      name: "web",
      vip: "10.96.0.2",
      endpointMode: "dnsrr",
      ports: fullSpec.ports,
      taskIps: ["10.240.0.2"],
    },
  ],
  AssignmentsMessage: [
    { complete: true, index: 0 },
    {
      complete: false,
      index: 77,
      assignments: [{ task: pendingGlobalTask, serviceName: "agent", spec: globalSpec }],
      removedTaskIds: ["t9"],
      secrets: [{ id: "sec-1", name: "db", data: d.encodeBase64(bytes) }],
      removedSecretIds: ["s9"],
      volumes: [volume],
      removedVolumeIds: ["v9"],
      volumesAuthoritative: true,
      peers: [{ nodeId: "n", wireguard: wg }],
      removedPeerIds: ["n9"],
      endpoints: [{ serviceId: "s", name: "web", vip: "10.96.0.2" }],
      removedEndpointIds: ["e9"],
    },
  ],
  TaskStatusUpdate: [{ taskId: "t", status: task.status }],
  ReportStatusRequest: [{
    nodeId: "n",
    sessionId: "s",
    updates: [{ taskId: "t", status: task.status }],
  }],
  ReportStatusResponse: [{}],
  RaftBatch: [
    { clusterId: "c", fromId: "m1", toId: "m2" },
    { clusterId: "c", fromId: "m1", toId: "m2", messages: [bytes, new Uint8Array(0)] },
  ],
  RaftAck: [{ accepted: 0 }, { accepted: 2 }],
  TaskLogsRequest: [
    { taskId: "web.1" },
    { serviceId: "web", follow: true, tail: 0, since: 1_700_000_000_000 },
  ],
  LogLine: [
    { stream: "stdout", line: "hello ✓", timestamp: 1_700_000_000_123 },
    { stream: "stderr", timestamp: 0 },
  ],
  TaskLogsMessage: [{}, {
    taskId: "t1",
    taskName: "web.1",
    nodeName: "worker-1",
    lines: [{ stream: "stderr", line: "x", timestamp: 5 }],
    notices: ["no logs from web.2 on w2: unreachable"],
  }],
  TerminalSize: [{ cols: 80, rows: 24 }],
  ExecStart: [{ taskId: "t1", command: ["sh"] }, {
    taskId: "web.1",
    command: ["sh", "-c", "echo hi; exit 3", ""],
    tty: true,
    stdin: true,
    env: ["A=1", "B="],
    workdir: "/tmp",
    user: "1000:1000",
    size: { cols: 120, rows: 40 },
  }],
  ExecInput: [
    { start: { taskId: "t1", command: ["id"] } },
    { stdin: bytes },
    { closeStdin: true },
    { resize: { cols: 100, rows: 30 } },
  ],
  ExecOutput: [{}, { stdout: bytes }, { stderr: new Uint8Array([0, 255]) }, { exitCode: 0 }, {
    exitCode: 137,
  }],
  TunnelLogsRequest: [{ taskId: "t1" }, { taskId: "t1", follow: true, tail: 10, since: 0 }],
  TunnelDown: [
    { streamId: 0, ping: true },
    { streamId: 0, ping: true, stdinCredits: true },
    { streamId: 1, logs: { taskId: "t1", follow: true } },
    { streamId: 2, exec: { taskId: "t1", command: ["sh"], tty: true, stdin: true } },
    { streamId: 2, stdin: bytes },
    { streamId: 2, closeStdin: true },
    { streamId: 2, resize: { cols: 1, rows: 1 } },
    { streamId: 0xffff_ffff, cancel: true },
  ],
  TunnelError: [{ code: "not_found", message: 'task "t9" not found' }, { code: "internal" }],
  TunnelUp: [
    { streamId: 0, nodeId: "node-1" },
    { streamId: 0, nodeId: "node-1", stdinWindow: 256 * 1024 },
    { streamId: 0, pong: true },
    { streamId: 2, stdinCredit: 0xffff_ffff },
    { streamId: 1, lines: [{ stream: "stdout", line: "a", timestamp: 1 }] },
    { streamId: 1, end: true },
    { streamId: 2, stdout: bytes, stderr: new Uint8Array([1]) },
    { streamId: 2, exitCode: 7 },
    { streamId: 3, error: { code: "not_found", message: "gone" } },
  ],
};

Deno.test("convert: every message in warren.proto has a codec, and nothing else does", async () => {
  const source = await Deno.readTextFile(new URL("./gen/warren.ts", import.meta.url));
  const names = [...source.matchAll(/^export const (\w+): MessageFns<\1> = \{/gm)]
    .map((m) => m[1]!)
    .filter((n) => !n.includes("_")) // map entry helper messages
    .sort();
  assert.ok(names.length > 60, `found ${names.length} messages`);
  assert.deepEqual(Object.keys(codecs).sort(), names);
  assert.deepEqual(Object.keys(samples).sort(), names);
});

Deno.test("convert: every wire enum value has a domain value and back", () => {
  const wireEnums = w as unknown as Record<string, Record<string, string | number>>;
  for (const [name, codec] of Object.entries(enums)) {
    const wireEnum = wireEnums[name]!;
    const numbers = Object.values(wireEnum).filter((v): v is number => typeof v === "number");
    const expected = numbers.filter((n) => n !== 0 && n !== -1).sort();
    assert.deepEqual([...codec.wireValues].sort(), expected, name);
    for (const n of expected) {
      const value = codec.fromWire(n as never) as never;
      assert.equal(codec.toWire(value), n, `${name} ${n}`);
    }
    assert.equal(codec.fromWire(0 as never), undefined, `${name} UNSPECIFIED`);
  }
});

Deno.test("convert: realistic and edge-case values round-trip through protobuf bytes", () => {
  for (const [name, values] of Object.entries(samples) as [MessageName, unknown[]][]) {
    for (const input of values) {
      // Parse first so the value is a domain value (defaults filled), as producers hold it.
      const domain = parseInput(name, input);
      assert.deepEqual(roundTrip(name, domain), domain, name);
      // Unvalidated decoding of a domain value loses nothing either (clients trust managers).
      assert.deepEqual(roundTripTrusted(name, domain), domain, `${name} (trusted)`);
    }
  }
});

/** Parses a sample with the schema behind the message's codec. */
function parseInput(name: MessageName, input: unknown): unknown {
  return SCHEMA_OF[name].parse(input);
}

const SCHEMA_OF: { [K in MessageName]: { parse(v: unknown): unknown } } = {
  UpdateAutolockRequest: d.UpdateAutolockRequestSchema,
  GetUnlockKeyRequest: d.GetUnlockKeyRequestSchema,
  UnlockKey: d.UnlockKeySchema,
  UnlockRequest: d.UnlockRequestSchema,
  Resources: d.ResourcesSchema,
  ResourceAmounts: d.ResourceAmountsSchema,
  ManagerPeer: d.ManagerPeerSchema,
  Platform: d.PlatformSchema,
  NodeAddresses: d.NodeAddressesSchema,
  NodeStatus: d.NodeStatusSchema,
  NodeWireGuard: d.NodeWireGuardSchema,
  Node: d.NodeSchema,
  ServiceResources: d.ServiceResourcesSchema,
  PlacementPreference: d.PlacementPreferenceSchema,
  Port: d.PortSchema,
  SecretRef: d.SecretRefSchema,
  Mount: d.MountSchema,
  HttpCheck: d.HttpCheckSchema,
  TcpCheck: d.TcpCheckSchema,
  ExecCheck: d.ExecCheckSchema,
  HealthCheck: d.HealthCheckSchema,
  RestartPolicy: d.RestartPolicySchema,
  UpdateConfig: d.UpdateConfigSchema,
  CanaryStep: d.CanaryStepSchema,
  CanaryConfig: d.CanaryConfigSchema,
  BlueGreenConfig: d.BlueGreenConfigSchema,
  Deployment: d.DeploymentSchema,
  ServiceSpec: d.ServiceSpecSchema,
  UpdateStatus: d.UpdateStatusSchema,
  Service: d.ServiceSchema,
  TaskStatus: d.TaskStatusSchema,
  Task: d.TaskSchema,
  TaskHostPort: d.TaskHostPortSchema,
  TaskReserves: d.TaskReservesSchema,
  Secret: d.SecretSchema,
  Volume: d.VolumeSchema,
  RaftStatus: d.RaftStatusSchema,
  ClusterCidrs: d.ClusterCidrsSchema,
  ManagerFeatureLevel: d.ManagerFeatureLevelSchema,
  ClusterInfo: d.ClusterInfoSchema,
  GetClusterInfoRequest: d.GetClusterInfoRequestSchema,
  GetJoinTokenRequest: d.GetJoinTokenRequestSchema,
  JoinToken: d.JoinTokenSchema,
  JoinRequest: d.JoinRequestSchema,
  JoinResponse: d.JoinResponseSchema,
  LeaveRequest: d.LeaveRequestSchema,
  RenewCertificateRequest: d.RenewCertificateRequestSchema,
  IssueCertificateRequest: d.IssueCertificateRequestSchema,
  CertificateResponse: d.CertificateResponseSchema,
  UpdateSecretRequest: d.SecretUpdateRequestSchema,
  LeaveResponse: d.EmptyResponseSchema,
  UnlockResponse: d.EmptyResponseSchema,
  ListNodesRequest: d.ListNodesRequestSchema,
  ListNodesResponse: d.ListNodesResponseSchema,
  InspectNodeRequest: d.InspectRequestSchema,
  UpdateNodeRequest: d.UpdateNodeRequestSchema,
  RemoveNodeRequest: d.RemoveRequestSchema,
  RemoveNodeResponse: d.EmptyResponseSchema,
  CreateServiceRequest: d.CreateServiceRequestSchema,
  ListServicesRequest: d.ListRequestSchema,
  ListServicesResponse: d.ListServicesResponseSchema,
  InspectServiceRequest: d.InspectRequestSchema,
  UpdateServiceRequest: d.UpdateServiceRequestSchema,
  ScaleServiceRequest: d.ScaleServiceRequestSchema,
  DeleteServiceRequest: d.IdRequestSchema,
  DeleteServiceResponse: d.EmptyResponseSchema,
  RollbackServiceRequest: d.IdRequestSchema,
  ListTasksRequest: d.ListTasksRequestSchema,
  ListTasksResponse: d.ListTasksResponseSchema,
  CreateSecretRequest: d.SecretCreateRequestSchema,
  ListSecretsRequest: d.ListRequestSchema,
  ListSecretsResponse: d.ListSecretsResponseSchema,
  InspectSecretRequest: d.InspectRequestSchema,
  DeleteSecretRequest: d.IdRequestSchema,
  DeleteSecretResponse: d.EmptyResponseSchema,
  CreateVolumeRequest: d.VolumeCreateRequestSchema,
  ListVolumesRequest: d.ListRequestSchema,
  ListVolumesResponse: d.ListVolumesResponseSchema,
  InspectVolumeRequest: d.InspectRequestSchema,
  DeleteVolumeRequest: d.RemoveRequestSchema,
  DeleteVolumeResponse: d.EmptyResponseSchema,
  WatchRequest: d.WatchRequestSchema,
  Event: d.EventSchema,
  RegisterRequest: d.RegisterRequestSchema,
  RegisterResponse: d.RegisterResponseSchema,
  HeartbeatRequest: d.HeartbeatRequestSchema,
  HeartbeatResponse: d.HeartbeatResponseSchema,
  AssignmentsRequest: d.AssignmentsRequestSchema,
  Assignment: d.AssignmentSchema,
  SecretData: d.SecretDataSchema,
  OverlayPeer: d.OverlayPeerSchema,
  ServiceEndpoint: d.ServiceEndpointSchema,
  AssignmentsMessage: d.AssignmentsMessageSchema,
  TaskStatusUpdate: d.TaskStatusUpdateSchema,
  ReportStatusRequest: d.ReportStatusRequestSchema,
  ReportStatusResponse: d.EmptyResponseSchema,
  RaftBatch: d.RaftBatchSchema,
  RaftAck: d.RaftAckSchema,
  TaskLogsRequest: d.TaskLogsRequestSchema,
  LogLine: d.LogLineSchema,
  TaskLogsMessage: d.TaskLogsMessageSchema,
  TerminalSize: d.TerminalSizeSchema,
  ExecStart: d.ExecStartSchema,
  ExecInput: d.ExecInputSchema,
  ExecOutput: d.ExecOutputSchema,
  TunnelLogsRequest: d.TunnelLogsRequestSchema,
  TunnelDown: d.TunnelDownSchema,
  TunnelError: d.TunnelErrorSchema,
  TunnelUp: d.TunnelUpSchema,
};

// ---- properties --------------------------------------------------------------------------------

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const labels = fc.dictionary(
  fc.stringMatching(/^[a-z][a-z0-9.]{0,8}[a-z]$/),
  fc.string({ maxLength: 20 }),
  {
    maxKeys: 4,
  },
);
const smallInt = (max: number) => fc.integer({ min: 0, max });
// Optional fields are left out of fc.record's requiredKeys, so they are absent, not undefined.
const port = fc.integer({ min: 1, max: 65535 });
const ms = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

/** Service spec inputs; a few combinations are invalid and filtered out by the schema. */
const specInput = fc.record(
  {
    name: label,
    image: fc.constantFrom(
      "busybox",
      "busybox:1.36",
      "127.0.0.1:5000/a/b:c",
      `x@sha256:${"0".repeat(64)}`,
    ),
    command: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
    args: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
    env: fc.uniqueArray(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/), { maxLength: 4 }).chain((
      keys,
    ) => fc.tuple(...keys.map((k) => fc.string({ maxLength: 12 }).map((v) => `${k}=${v}`)))),
    workdir: fc.constantFrom("/", "/srv", "/a/b c"),
    user: fc.constantFrom("root", "1000", "1000:1000"),
    mode: fc.constantFrom("replicated", "global"),
    replicas: smallInt(10_000),
    resources: fc.record({
      limits: fc.record({
        nanoCpus: fc.integer({ min: 1, max: 1e12 }),
        memoryBytes: fc.integer({ min: 4 << 20, max: 2 ** 40 }),
      }, {
        requiredKeys: [],
      }),
      reservations: fc.record({
        nanoCpus: fc.integer({ min: 1, max: 1e12 }),
        memoryBytes: fc.integer({ min: 4 << 20, max: 2 ** 40 }),
      }, {
        requiredKeys: [],
      }),
    }),
    constraints: fc.array(
      fc.constantFrom("node.role==worker", "node.labels.zone!=edge", "node.id==n1"),
      { maxLength: 3 },
    ),
    preferences: fc.array(
      fc.constantFrom({ spread: "node.labels.zone" }, { spread: "node.labels.rack" }),
      { maxLength: 2 },
    ),
    maxReplicasPerNode: smallInt(100),
    ports: fc.uniqueArray(
      fc.record({
        name: label,
        protocol: fc.constantFrom("tcp", "udp"),
        target: port,
        published: port,
        publishMode: fc.constantFrom("ingress", "host"),
      }, { requiredKeys: ["target"] }),
      { maxLength: 3, selector: (p) => `${p.published}/${p.protocol ?? "tcp"}` },
    ),
    endpointMode: fc.constantFrom("vip", "dnsrr"),
    secrets: fc.uniqueArray(
      fc.record({ secret: label, target: label, mode: smallInt(0o777) }, {
        requiredKeys: ["secret"],
      }),
      { maxLength: 3, selector: (r) => r.target ?? r.secret },
    ),
    mounts: fc.uniqueArray(
      fc.oneof(
        fc.record({
          type: fc.constant("volume"),
          source: label,
          target: fc.constantFrom("/a", "/b"),
          readOnly: fc.boolean(),
        }),
        fc.record({
          type: fc.constant("bind"),
          source: fc.constantFrom("/x", "/y/z"),
          target: fc.constantFrom("/c", "/d"),
        }),
        fc.record({ type: fc.constant("tmpfs"), target: fc.constantFrom("/t", "/u") }),
      ),
      { maxLength: 3, selector: (m) => m.target },
    ),
    healthCheck: fc.oneof(
      fc.record({
        type: fc.constant("tcp"),
        tcp: fc.record({ port }),
        intervalMs: fc.integer({ min: 100, max: 3_600_000 }),
      }),
      fc.record({
        type: fc.constant("http"),
        http: fc.record({ port, path: fc.constantFrom("/", "/healthz") }),
        retries: fc.integer({ min: 1, max: 100 }),
      }),
      fc.record({
        type: fc.constant("exec"),
        exec: fc.record({
          command: fc.array(fc.string({ minLength: 1, maxLength: 5 }), {
            minLength: 1,
            maxLength: 3,
          }),
        }),
      }),
    ),
    restartPolicy: fc.record({
      condition: fc.constantFrom("none", "on-failure", "any"),
      delayMs: smallInt(3_600_000),
      maxAttempts: smallInt(10),
    }, { requiredKeys: [] }),
    updateConfig: fc.record({
      parallelism: smallInt(100),
      failureAction: fc.constantFrom("pause", "continue", "rollback"),
      maxFailureRatio: fc.double({ min: 0, max: 1, noNaN: true }),
      order: fc.constantFrom("stop-first", "start-first"),
    }, { requiredKeys: [] }),
    deployment: fc.oneof(
      fc.constant({ strategy: "rolling" }),
      fc.record({
        strategy: fc.constant("blue-green"),
        blueGreen: fc.record({ autoPromote: fc.boolean() }),
      }),
      fc.record({
        strategy: fc.constant("canary"),
        canary: fc.uniqueArray(fc.integer({ min: 1, max: 99 }), { minLength: 1, maxLength: 4 }).map(
          (ws) => ({
            steps: ws.sort((a, b) => a - b).map((weightPercent) => ({ weightPercent })),
          }),
        ),
      }),
    ),
    stopSignal: fc.constantFrom("SIGTERM", "SIGINT", "9"),
    stopGracePeriodMs: smallInt(3_600_000),
    readOnlyRootfs: fc.boolean(),
    disconnectGraceMs: smallInt(86_400_000),
    labels,
  },
  { requiredKeys: ["name", "image"] },
);

const spec = specInput.map((s) => d.ServiceSpecSchema.safeParse(s)).filter((r) => r.success).map((
  r,
) => r.data!);

Deno.test("convert: property: any valid ServiceSpec round-trips", () => {
  fc.assert(
    fc.property(spec, (s) => {
      assert.deepEqual(roundTrip("ServiceSpec", s), s);
      assert.deepEqual(roundTripTrusted("ServiceSpec", s), s);
    }),
    { numRuns: 300, seed: 20240601 },
  );
});

Deno.test("convert: property: tasks and events round-trip", () => {
  const taskArb = fc.record({
    id: label,
    serviceId: label,
    slot: fc.integer({ min: 1, max: 1_000_000 }),
    nodeId: label,
    specVersion: ms,
    desiredState: fc.constantFrom(...d.TASK_STATES),
    status: fc.record({
      state: fc.constantFrom(...d.TASK_STATES),
      message: fc.string({ maxLength: 30 }),
      error: fc.string({ maxLength: 30 }),
      exitCode: fc.integer({ min: -2147483648, max: 2147483647 }),
      containerId: fc.stringMatching(/^[0-9a-f]{1,64}$/),
      ip: fc.ipV4(),
      health: fc.constantFrom("none", "starting", "healthy", "unhealthy"),
      timestamp: ms,
    }, { requiredKeys: ["state", "timestamp"] }),
    createdAt: ms,
    updatedAt: ms,
    reserves: fc.record({
      nanoCpus: ms,
      memoryBytes: ms,
      hostPorts: fc.array(
        fc.record({
          published: fc.integer({ min: 1, max: 65535 }),
          protocol: fc.constantFrom("tcp", "udp"),
        }),
        { maxLength: 4 },
      ),
      volumes: fc.array(label, { maxLength: 4 }),
    }, { requiredKeys: [] }),
  }, {
    requiredKeys: [
      "id",
      "serviceId",
      "nodeId",
      "specVersion",
      "desiredState",
      "status",
      "createdAt",
      "updatedAt",
    ],
  })
    .map((t) => d.TaskSchema.parse(t));
  fc.assert(
    fc.property(
      taskArb,
      ms,
      fc.constantFrom("create", "update", "delete"),
      (task, index, action) => {
        assert.deepEqual(roundTrip("Task", task), task);
        const event = d.EventSchema.parse({ index, kind: "task", action, timestamp: index, task });
        assert.deepEqual(roundTrip("Event", event), event);
      },
    ),
    { numRuns: 300, seed: 7 },
  );
});

Deno.test("convert: property: secret and raft bytes survive exactly", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 2048 }),
      fc.array(fc.uint8Array({ maxLength: 512 }), { maxLength: 5 }),
      (data, messages) => {
        const create = d.SecretCreateRequestSchema.parse({ name: "s", data: d.encodeBase64(data) });
        const back = roundTrip("CreateSecretRequest", create) as d.SecretCreateRequest;
        assert.deepEqual(d.decodeBase64(back.data), data);
        const batch = d.RaftBatchSchema.parse({ clusterId: "c", fromId: "a", toId: "b", messages });
        assert.deepEqual(roundTrip("RaftBatch", batch), batch);
      },
    ),
    { numRuns: 100, seed: 3 },
  );
});

// ---- wire → domain validation ----------------------------------------------------------------

Deno.test("convert: unset wire fields take the domain defaults", () => {
  const s = fromWire("ServiceSpec", w.ServiceSpec.fromPartial({ name: "web", image: "busybox" }));
  assert.deepEqual(s, d.ServiceSpecSchema.parse({ name: "web", image: "busybox" }));
  assert.equal(s.replicas, 1);
  const zero = fromWire(
    "ServiceSpec",
    w.ServiceSpec.fromPartial({ name: "web", image: "busybox", replicas: 0 }),
  );
  assert.equal(zero.replicas, 0, "replicas 0 is not confused with 'unset'");
  const v = fromWire("Volume", w.Volume.fromPartial({ id: "v", name: "v" }));
  assert.equal(v.driver, "local");
  const c = fromWire("ClusterCidrs", w.ClusterCidrs.fromPartial({}));
  assert.deepEqual(c, {
    clusterCidr: "10.240.0.0/16",
    serviceCidr: "10.96.0.0/16",
    nodeSubnetBits: 24,
  });
  const ref = fromWire("SecretRef", w.SecretRef.fromPartial({ secret: "db" }));
  assert.deepEqual(ref, { secret: "db", target: "db", mode: 0o444 });
});

Deno.test("convert: invalid wire messages fail with the field path and reason", () => {
  const cases: [MessageName, unknown, string | undefined, string, RegExp][] = [
    [
      "CreateServiceRequest",
      w.CreateServiceRequest.fromPartial({}),
      undefined,
      "spec",
      /is required/,
    ],
    [
      "CreateServiceRequest",
      w.CreateServiceRequest.fromPartial({
        spec: { name: "web", image: "busybox", ports: [{ target: 0 }] },
      }),
      undefined,
      "spec.ports[0].target",
      />=1|Too small/,
    ],
    [
      "ServiceSpec",
      w.ServiceSpec.fromPartial({ name: "Web_1", image: "busybox" }),
      "spec",
      "spec.name",
      /DNS label/,
    ],
    [
      "ServiceSpec",
      w.ServiceSpec.fromPartial({
        name: "web",
        image: "busybox",
        mode: w.ServiceMode.SERVICE_MODE_GLOBAL,
        replicas: 2,
      }),
      undefined,
      "replicas",
      /global mode/,
    ],
    [
      "Task",
      w.Task.fromPartial({ id: "t", serviceId: "s", slot: 1 }),
      undefined,
      "desiredState",
      /is required/,
    ],
    [
      "Task",
      w.Task.fromPartial({
        id: "t",
        serviceId: "s",
        slot: 1,
        desiredState: 42 as w.TaskState,
        status: { timestamp: 1 },
      }),
      undefined,
      "desiredState",
      /Invalid option/,
    ],
    ["Node", w.Node.fromPartial({ id: "n" }), "node", "node.hostname", /is required/],
    [
      "InspectServiceRequest",
      w.InspectServiceRequest.fromPartial({}),
      undefined,
      "id",
      /is required/,
    ],
    [
      "CreateSecretRequest",
      w.CreateSecretRequest.fromPartial({ name: "s" }),
      undefined,
      "data",
      /must not be empty/,
    ],
    [
      "Event",
      w.Event.fromPartial({
        index: 1,
        kind: w.EventKind.EVENT_KIND_NODE,
        action: w.EventAction.EVENT_ACTION_CREATE,
      }),
      undefined,
      "node",
      /is required/,
    ],
  ];
  for (const [name, message, root, field, reason] of cases) {
    const e = fromWireError(name, message, root);
    assert.equal(e.field, field, `${name}: ${e.message}`);
    assert.match(e.message, reason, name);
  }
});

Deno.test("convert: toWire/fromWire by name match the codec table", () => {
  const wire = toWire("ScaleServiceRequest", { id: "web", replicas: 4 });
  assert.deepEqual(wire, { id: "web", replicas: 4 });
  assert.deepEqual(fromWire("ScaleServiceRequest", wire), { id: "web", replicas: 4 });
  const e = fromWireError("ScaleServiceRequest", { id: "web", replicas: 10_001 });
  assert.equal(e.field, "replicas");
});
