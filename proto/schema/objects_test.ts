import assert from "node:assert/strict";
import type { z } from "zod";
import { assertInvalid } from "./_test_util.ts";
import { ClusterInfoSchema } from "./cluster.ts";
import { NodeSchema, NodeUpdateSchema } from "./node.ts";
import { parseOrThrow } from "./parse.ts";
import {
  MAX_SECRET_BYTES,
  SecretCreateRequestSchema,
  SecretUpdateRequestSchema,
  StoredSecretSchema,
} from "./secret.ts";
import { ServiceSchema } from "./service.ts";
import { TaskSchema } from "./task.ts";
import { VolumeCreateRequestSchema, VolumeSchema } from "./volume.ts";
import { ScaleServiceRequestSchema, UpdateNodeRequestSchema } from "./requests.ts";
import { encodeBase64 } from "./base64.ts";

const KEY = "x".repeat(42) + "A=";
const node = {
  id: "n1",
  hostname: "worker-1",
  role: "worker",
  addresses: { advertise: "10.0.0.2", api: "10.0.0.2:4243" },
  platform: { arch: "amd64" },
  version: "0.1.0",
  createdAt: 1,
  updatedAt: 2,
};

Deno.test("Node: defaults and a full node", () => {
  const n = parseOrThrow(NodeSchema, node);
  assert.equal(n.availability, "active");
  assert.deepEqual(n.status, { state: "unknown", message: "", lastHeartbeatAt: 0 });
  assert.deepEqual(n.resources, { nanoCpus: 0, memoryBytes: 0 });
  assert.equal(n.platform.os, "linux");
  const full = parseOrThrow(NodeSchema, {
    ...node,
    role: "manager",
    addresses: { advertise: "m1.local", api: "[::1]:4242", raft: "m1.local:4240" },
    labels: { zone: "edge" },
    resources: { nanoCpus: 2e9, memoryBytes: 24 * 2 ** 30 },
    availability: "drain",
    status: { state: "ready", message: "", lastHeartbeatAt: 1_700_000_000_000 },
    wireguard: { publicKey: KEY, endpoint: "10.0.0.2:51820", subnet: "10.240.3.0/24" },
  });
  assert.equal(full.wireguard?.subnet, "10.240.3.0/24");
});

Deno.test("Node: bad values name the field", () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ ...node, role: "boss" }, "role", /Invalid option/],
    [{ ...node, hostname: "bad_host" }, "hostname", /host name/],
    [
      { ...node, addresses: { advertise: "10.0.0.2", api: "10.0.0.2" } },
      "addresses.api",
      /host:port/,
    ],
    [{ ...node, addresses: {} }, "addresses.advertise", /is required/],
    [{ ...node, platform: { arch: "mips" } }, "platform.arch", /Invalid option/],
    [{ ...node, availability: "off" }, "availability", /Invalid option/],
    [{ ...node, status: { state: "gone" } }, "status.state", /Invalid option/],
    [
      { ...node, wireguard: { publicKey: "abc", endpoint: "h:1", subnet: "10.0.0.0/24" } },
      "wireguard.publicKey",
      /WireGuard/,
    ],
    [
      { ...node, wireguard: { publicKey: KEY, endpoint: "h:1", subnet: "10.0.0.1/24" } },
      "wireguard.subnet",
      /CIDR/,
    ],
    [{ ...node, createdAt: -1 }, "createdAt", /Too small|>=0/],
    [{ ...node, id: "" }, "id", /1-64/],
  ];
  for (const [value, field, reason] of cases) assertInvalid(NodeSchema, value, field, reason);
});

const status = { state: "running", timestamp: 5 };
const task = {
  id: "t1",
  serviceId: "s1",
  slot: 1,
  specVersion: 1,
  desiredState: "running",
  status,
  createdAt: 1,
  updatedAt: 2,
};

Deno.test("Task: replicated tasks have a slot, global ones a node", () => {
  const t = parseOrThrow(TaskSchema, task);
  assert.equal(t.status.health, "none");
  assert.equal(t.status.message, "");
  const { slot: _slot, ...global } = task;
  parseOrThrow(TaskSchema, { ...global, nodeId: "n1" });
  assertInvalid(TaskSchema, global, "slot", /required unless nodeId/);
  assertInvalid(TaskSchema, { ...task, slot: 0 }, "slot", /Too small|>=1/);
  assertInvalid(TaskSchema, { ...task, desiredState: "gone" }, "desiredState", /Invalid option/);
  assertInvalid(
    TaskSchema,
    { ...task, status: { ...status, health: "meh" } },
    "status.health",
    /Invalid option/,
  );
  assertInvalid(
    TaskSchema,
    { ...task, status: { state: "running" } },
    "status.timestamp",
    /is required/,
  );
});

Deno.test("Service: wraps a spec; spec errors carry the spec path", () => {
  const s = parseOrThrow(ServiceSchema, {
    id: "s1",
    spec: { name: "web", image: "busybox" },
    specVersion: 1,
    vip: "10.96.0.5",
    updateStatus: { state: "updating", startedAt: 10 },
    createdAt: 1,
    updatedAt: 2,
  });
  assert.equal(s.spec.replicas, 1);
  assert.equal(s.updateStatus?.message, "");
  assertInvalid(
    ServiceSchema,
    {
      id: "s1",
      spec: { name: "web", image: "busybox", replicas: -1 },
      specVersion: 1,
      createdAt: 1,
      updatedAt: 1,
    },
    "spec.replicas",
    /at least 0/,
  );
  assertInvalid(
    ServiceSchema,
    {
      id: "s1",
      spec: { name: "web", image: "busybox" },
      specVersion: 1,
      vip: "x",
      createdAt: 1,
      updatedAt: 1,
    },
    "vip",
    /IPv4/,
  );
  assertInvalid(
    ServiceSchema,
    {
      id: "s1",
      spec: { name: "web", image: "busybox" },
      specVersion: 1,
      updateStatus: { state: "done", startedAt: 1 },
      createdAt: 1,
      updatedAt: 1,
    },
    "updateStatus.state",
    /Invalid option/,
  );
});

Deno.test("Secret: create request size limits; stored form carries only ciphertext", () => {
  const ok = parseOrThrow(SecretCreateRequestSchema, {
    name: "db",
    data: encodeBase64(new Uint8Array(MAX_SECRET_BYTES)),
  });
  assert.equal(ok.name, "db");
  assertInvalid(SecretCreateRequestSchema, { name: "db", data: "" }, "data", /must not be empty/);
  assertInvalid(
    SecretCreateRequestSchema,
    { name: "db", data: encodeBase64(new Uint8Array(MAX_SECRET_BYTES + 1)) },
    "data",
    /at most 512000 bytes/,
  );
  assertInvalid(SecretCreateRequestSchema, { name: "db", data: "not base64!" }, "data", /base64/);
  assertInvalid(SecretCreateRequestSchema, { name: "DB", data: "eA==" }, "name", /DNS label/);
  const stored = parseOrThrow(StoredSecretSchema, {
    id: "x1",
    name: "db",
    version: 1,
    createdAt: 1,
    encrypted: { ciphertext: "AAAA", nonce: "AAAAAAAAAAAAAAAA", keyId: "k1" },
    data: "cGxhaW50ZXh0",
  });
  assert.equal("data" in stored, false, "plaintext is stripped from the stored form");
  assertInvalid(
    StoredSecretSchema,
    { id: "x1", name: "db", version: 1, createdAt: 1 },
    "encrypted",
    /is required/,
  );
});

Deno.test("Volume: local driver by default, bounded options", () => {
  const v = parseOrThrow(VolumeSchema, { id: "v1", name: "data", createdAt: 1, updatedAt: 1 });
  assert.equal(v.driver, "local");
  assert.deepEqual(v.options, {});
  assertInvalid(
    VolumeSchema,
    { id: "v1", name: "data", driver: "nfs", createdAt: 1, updatedAt: 1 },
    "driver",
    /expected "local"/,
  );
  assertInvalid(
    VolumeSchema,
    {
      id: "v1",
      name: "data",
      options: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`o${i}`, ""])),
      createdAt: 1,
      updatedAt: 1,
    },
    "options",
    /at most 32/,
  );
});

Deno.test("request bodies are strict: a misspelt field is an error naming it, not dropped", () => {
  const data = "eA==";
  const cases: [z.ZodType, Record<string, unknown>, string][] = [
    [NodeUpdateSchema, { availabilty: "drain" }, "availabilty"],
    [UpdateNodeRequestSchema, { id: "n1", availability: "drain", lables: {} }, "lables"],
    [SecretCreateRequestSchema, { name: "db", data, lables: { a: "b" } }, "lables"],
    [SecretUpdateRequestSchema, { id: "db", data, dry_run: true }, "dry_run"],
    [VolumeCreateRequestSchema, { name: "data", drvier: "nfs" }, "drvier"],
    [ScaleServiceRequestSchema, { id: "web", replicas: 3, typo: 1 }, "typo"],
  ];
  for (const [schema, value, field] of cases) {
    assertInvalid(schema, value, field, /is not a known field/);
  }
  // The same requests without the typo parse.
  assert.equal(parseOrThrow(NodeUpdateSchema, { availability: "drain" }).availability, "drain");
  assert.equal(parseOrThrow(ScaleServiceRequestSchema, { id: "web", replicas: 3 }).replicas, 3);
  // Stored volumes are read as before: a field this version does not know is ignored.
  const stored = { id: "v1", name: "data", createdAt: 1, updatedAt: 1, later: true };
  assert.equal(parseOrThrow(VolumeSchema, stored).name, "data");
});

Deno.test("Volume: a create request with an option the local driver does not implement is refused", () => {
  for (const key of ["bogus", "type", "o"]) {
    const value = { name: "data", options: { [key]: "x" } };
    assertInvalid(VolumeCreateRequestSchema, value, `options.${key}`, /not an option of the local/);
    // `apply -f` parses with .strict(); the driver check stays.
    assertInvalid(VolumeCreateRequestSchema.strict(), value, `options.${key}`, /it takes none/);
  }
  assert.deepEqual(parseOrThrow(VolumeCreateRequestSchema, { name: "data" }).options, {});
  // Volumes stored before the check are read as they are.
  const old = { id: "v1", name: "data", options: { type: "nfs" }, createdAt: 1, updatedAt: 1 };
  assert.deepEqual(parseOrThrow(VolumeSchema, old).options, { type: "nfs" });
});

Deno.test("ClusterInfo: CIDR defaults and checks", () => {
  const base = {
    id: "c1",
    name: "warren",
    createdAt: 1,
    raft: { term: 1, index: 5 },
    managers: 1,
    workers: 0,
    version: "0.1.0",
  };
  const c = parseOrThrow(ClusterInfoSchema, base);
  assert.deepEqual(c.cidrs, {
    clusterCidr: "10.240.0.0/16",
    serviceCidr: "10.96.0.0/16",
    nodeSubnetBits: 24,
  });
  assertInvalid(
    ClusterInfoSchema,
    { ...base, cidrs: { clusterCidr: "10.240.0.0/24", nodeSubnetBits: 24 } },
    "cidrs.nodeSubnetBits",
    /longer than/,
  );
  assertInvalid(
    ClusterInfoSchema,
    { ...base, cidrs: { serviceCidr: "10.240.128.0/17" } },
    "cidrs.serviceCidr",
    /overlap/,
  );
  assertInvalid(
    ClusterInfoSchema,
    { ...base, cidrs: { clusterCidr: "10.240.0.0" } },
    "cidrs.clusterCidr",
    /CIDR/,
  );
  assertInvalid(
    ClusterInfoSchema,
    { ...base, raft: { term: -1, index: 0 } },
    "raft.term",
    /Too small|>=0/,
  );
});
