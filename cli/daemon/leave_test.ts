import assert from "node:assert/strict";
import { join } from "node:path";
import { askManagers, leaveManagers } from "./leave.ts";
import { NotFoundError, UnavailableError } from "../../proto/errors.ts";
import { leaveRequested, managersToRecord, requestLeave, writePidFile } from "./pid_file.ts";
import { writeCliConfig } from "../config.ts";

Deno.test("cluster leave finds a manager: flag, WARREN_MANAGER, the daemon's record, the CLI config", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-leave-" });
  try {
    const dataDir = join(dir, "data");
    await Deno.mkdir(dataDir);
    const configPath = join(dir, "config.json");
    const vars: Record<string, string> = { WARREN_CONFIG: configPath };
    const env = (name: string) => vars[name];
    const find = (flag?: string) =>
      leaveManagers({ ...(flag ? { flag } : {}), dataDir, clusterId: "c1", env });
    assert.deepEqual(await find(), []);
    await writeCliConfig(configPath, { managers: ["10.0.0.9:4240"], clusterId: "c1" });
    assert.deepEqual(await find(), ["10.0.0.9:4240"]);
    const removePid = await writePidFile(dataDir, { managers: ["10.0.0.1:4240", "10.0.0.2:4240"] });
    await removePid();
    // The daemon's own record first (a manager's own API), then the config's.
    assert.deepEqual(await find(), ["10.0.0.1:4240", "10.0.0.2:4240", "10.0.0.9:4240"]);
    // Another cluster's config is no help.
    await writeCliConfig(configPath, { managers: ["10.9.9.9:4240"], clusterId: "other" });
    assert.deepEqual(await find(), ["10.0.0.1:4240", "10.0.0.2:4240"]);
    vars.WARREN_MANAGER = "10.0.0.5:4240,10.0.0.6:4240";
    assert.deepEqual(await find(), ["10.0.0.5:4240", "10.0.0.6:4240"]);
    assert.deepEqual(await find("10.0.0.7:4240"), ["10.0.0.7:4240"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cluster leave asks the daemon to stop its tasks; a new daemon forgets a stale request", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-leave-" });
  try {
    assert.equal(await leaveRequested(dir), false);
    const withdraw = await requestLeave(dir);
    assert.equal(await leaveRequested(dir), true);
    await withdraw();
    assert.equal(await leaveRequested(dir), false);
    await requestLeave(dir);
    const removePid = await writePidFile(dir);
    assert.equal(await leaveRequested(dir), false);
    await removePid();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a manager records the other managers first and its own API last", () => {
  const node = (id: string, role: string, api?: string) =>
    [id, { id, role, addresses: api ? { api } : {} }] as const;
  const mgr = {
    apiAddress: "10.0.0.1:4240",
    identity: { nodeId: "m1" },
    store: {
      state: {
        nodes: new Map([
          node("m1", "manager", "10.0.0.1:4240"),
          node("w1", "worker"),
          node("m2", "manager", "10.0.0.2:4240"),
        ]),
      },
    },
  };
  assert.deepEqual(managersToRecord(mgr), ["10.0.0.2:4240", "10.0.0.1:4240"]);
  assert.deepEqual(
    managersToRecord(mgr, ["10.0.0.3:4240", "10.0.0.1:4240", "10.0.0.2:4240"]),
    ["10.0.0.2:4240", "10.0.0.3:4240", "10.0.0.1:4240"],
  );
});

Deno.test("cluster leave stops at a manager's definitive answer, not at the last one asked", async () => {
  // A removed manager lists itself last: its frozen copy answers "no quorum", the real
  // managers that the node is not a member.
  const asked: string[] = [];
  const answers: Record<string, Error> = {
    a: new UnavailableError("not the leader"),
    b: new NotFoundError("node", "m3"),
    c: new UnavailableError("no quorum"),
  };
  const r = await askManagers(["a", "b", "c"], (addr) => {
    asked.push(addr);
    return Promise.reject(answers[addr]);
  }, { attempts: 3, pauseMs: 0 });
  assert.equal(r.done, false);
  assert.ok(r.lastErr instanceof NotFoundError, String(r.lastErr));
  assert.deepEqual(asked, ["a", "b"]);
  // Retryable answers only: every manager, every attempt, then the last answer.
  asked.length = 0;
  const busy = await askManagers(["a", "c"], (addr) => {
    asked.push(addr);
    return Promise.reject(answers[addr]);
  }, { attempts: 2, pauseMs: 0 });
  assert.equal(busy.done, false);
  assert.equal((busy.lastErr as Error).message, "no quorum");
  assert.deepEqual(asked, ["a", "c", "a", "c"]);
  const ok = await askManagers(["a", "b"], () => Promise.resolve(), { pauseMs: 0 });
  assert.deepEqual(ok, { done: true, lastErr: undefined });
});
