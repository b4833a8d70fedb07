import assert from "node:assert/strict";
import { join } from "node:path";
import type { Change } from "../../manager/state/fsm.ts";
import type { Node } from "../../proto/schema/mod.ts";
import { readCliConfig, writeCliConfig } from "../config.ts";
import { keepConfigManagers, managerApiAddresses, syncConfigManagers } from "./config_managers.ts";

const node = (id: string, role: "manager" | "worker", api?: string): Node => ({
  id,
  hostname: id,
  role,
  addresses: { advertise: "10.0.0.1", ...(api ? { api } : {}) },
  labels: {},
  resources: { nanoCpus: 1e9, memoryBytes: 2 ** 30 },
  platform: { os: "linux", arch: "amd64" },
  availability: "active",
  status: { state: "ready", message: "", lastHeartbeatAt: 0 },
  version: "0.1.0",
  createdAt: 0,
  updatedAt: 0,
});

const TLS = { caFile: "/x/ca.pem", certFile: "/x/admin.pem", keyFile: "/x/admin-key.pem" };

async function withConfig(
  fn: (path: string) => Promise<void>,
  managers = ["10.0.0.1:4242"],
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "config.json");
  try {
    await writeCliConfig(path, { managers, clusterId: "c1", tls: TLS });
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("managerApiAddresses: self first, other managers sorted, workers left out", () => {
  const nodes = [
    node("m3", "manager", "10.0.0.3:4242"),
    node("w1", "worker"),
    node("m1", "manager", "10.0.0.1:4242"),
    node("m2", "manager", "10.0.0.2:4242"),
    node("m4", "manager"), // no API address recorded
  ];
  assert.deepEqual(managerApiAddresses(nodes, "10.0.0.2:4242"), [
    "10.0.0.2:4242",
    "10.0.0.1:4242",
    "10.0.0.3:4242",
  ]);
});

Deno.test("syncConfigManagers: replaces another set, keeps TLS, leaves the same set and other clusters alone", async () => {
  await withConfig(async (path) => {
    assert.equal(await syncConfigManagers(path, "c1", ["10.0.0.1:4242", "10.0.0.2:4242"]), true);
    const cfg = await readCliConfig(path);
    assert.deepEqual(cfg?.managers, ["10.0.0.1:4242", "10.0.0.2:4242"]);
    assert.equal(cfg?.tls?.certFile, TLS.certFile);
    // The same set in another order: not rewritten.
    assert.equal(await syncConfigManagers(path, "c1", ["10.0.0.2:4242", "10.0.0.1:4242"]), false);
    // A manager left: dropped.
    assert.equal(await syncConfigManagers(path, "c1", ["10.0.0.1:4242"]), true);
    assert.deepEqual((await readCliConfig(path))?.managers, ["10.0.0.1:4242"]);
    // Another cluster's config, or none: untouched.
    assert.equal(await syncConfigManagers(path, "c2", ["10.9.9.9:4242"]), false);
    assert.equal(await syncConfigManagers(`${path}.missing`, "c1", ["10.9.9.9:4242"]), false);
    assert.deepEqual((await readCliConfig(path))?.managers, ["10.0.0.1:4242"]);
  });
});

Deno.test("keepConfigManagers: syncs at start and when a manager's record changes", async () => {
  await withConfig(async (path) => {
    const nodes = new Map([["m1", node("m1", "manager", "10.0.0.1:4242")]]);
    let listener: ((index: number, changes: Change[]) => void) | undefined;
    const errors: unknown[] = [];
    const settle = async (want: string[]) => {
      for (let i = 0; i < 200; i++) {
        const have = (await readCliConfig(path))?.managers;
        if (JSON.stringify(have) === JSON.stringify(want)) return;
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.deepEqual((await readCliConfig(path))?.managers, want);
    };
    const stop = keepConfigManagers(path, {
      clusterId: "c1",
      self: "10.0.0.1:4242",
      nodes: () => nodes.values(),
      onApplied: (fn) => {
        listener = fn;
        return () => (listener = undefined);
      },
      onError: (err) => errors.push(err),
    });
    nodes.set("m2", node("m2", "manager", "10.0.0.2:4242"));
    listener!(5, [{ kind: "node", action: "create", node: nodes.get("m2")! }]);
    await settle(["10.0.0.1:4242", "10.0.0.2:4242"]);
    // A worker joining changes nothing.
    const w = node("w1", "worker");
    nodes.set("w1", w);
    listener!(6, [{ kind: "node", action: "create", node: w }]);
    const m2 = nodes.get("m2")!;
    nodes.delete("m2");
    listener!(7, [{ kind: "node", action: "delete", node: m2 }]);
    await settle(["10.0.0.1:4242"]);
    stop();
    assert.equal(listener, undefined);
    assert.deepEqual(errors, []);
  }, ["10.0.0.1:4242"]);
});
