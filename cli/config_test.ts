import assert from "node:assert/strict";
import { join } from "node:path";
import { ValidationError } from "../proto/errors.ts";
import {
  defaultConfigPath,
  NO_MANAGER_MESSAGE,
  parseManagerList,
  readCliConfig,
  resolveTarget,
  writeCliConfig,
} from "./config.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "warren-cli-config-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("config: manager lists split commas, drop duplicates and name the bad flag", () => {
  assert.deepEqual(
    parseManagerList(["10.0.0.1:4242,10.0.0.2:4242", "[::1]:4242", "10.0.0.1:4242"]),
    [
      "10.0.0.1:4242",
      "10.0.0.2:4242",
      "[::1]:4242",
    ],
  );
  assert.throws(() => parseManagerList(["10.0.0.1"]), (err: unknown) => {
    assert.ok(err instanceof ValidationError);
    assert.equal(err.field, "--manager");
    assert.match(err.message, /"10\.0\.0\.1" must be HOST:PORT/);
    return true;
  });
  assert.throws(
    () => parseManagerList(["h:0"], "WARREN_MANAGER"),
    (err: unknown) => err instanceof ValidationError && err.field === "WARREN_MANAGER",
  );
});

Deno.test("config: an empty --manager is an error, not a fall back to env or config", async () => {
  await withTempDir(async (dir) => {
    const configPath = join(dir, "config.json");
    await writeCliConfig(configPath, { managers: ["10.0.0.1:4242"], clusterId: "c1" });
    const env = envOf({ WARREN_MANAGER: "10.0.0.9:4242" });
    for (const flag of [[""], [" "], [","], ["10.0.0.5:1", ""]]) {
      await assert.rejects(
        resolveTarget({ configPath, env, flag }),
        (err: unknown) =>
          err instanceof ValidationError && err.field === "--manager" &&
          /names no manager: it must be HOST:PORT/.test(err.message),
        JSON.stringify(flag),
      );
    }
    // An empty variable reads as unset (as `VAR=` does in shells); a blank list does not.
    const unset = await resolveTarget({ configPath, env: envOf({ WARREN_MANAGER: "" }) });
    assert.equal(unset.source, "config");
    await assert.rejects(
      resolveTarget({ configPath, env: envOf({ WARREN_MANAGER: " , " }) }),
      (err: unknown) => err instanceof ValidationError && err.field === "WARREN_MANAGER",
    );
  });
});

Deno.test("config: default path is $WARREN_CONFIG, else ~/.warren/config.json", () => {
  assert.equal(
    defaultConfigPath(envOf({ WARREN_CONFIG: "/etc/w.json", HOME: "/h" })),
    "/etc/w.json",
  );
  assert.equal(defaultConfigPath(envOf({ HOME: "/home/ann" })), "/home/ann/.warren/config.json");
  assert.throws(() => defaultConfigPath(envOf({})), ValidationError);
});

Deno.test("config: written with 0600 in a 0700 directory and read back", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "sub", "config.json");
    const config = {
      managers: ["127.0.0.1:4242"],
      clusterId: "c1",
      tls: { caFile: "ca.pem", certFile: "/abs/cert.pem", keyFile: "key.pem" },
    };
    await writeCliConfig(path, config);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(join(dir, "sub"))).mode! & 0o777, 0o700);
    assert.deepEqual(await readCliConfig(path), config);
    assert.equal(await readCliConfig(join(dir, "missing.json")), undefined);
    await assert.rejects(
      writeCliConfig(path, { managers: [], clusterId: "c1" }),
      (err: unknown) => err instanceof ValidationError && err.field === "managers",
    );
  });
});

Deno.test("config: a malformed file is reported with its path and field", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "config.json");
    await Deno.writeTextFile(path, JSON.stringify({ managers: ["x"], clusterId: "c" }));
    await assert.rejects(readCliConfig(path), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.equal(err.field, `${path}: managers[0]`);
      return true;
    });
    await Deno.writeTextFile(path, "{not json");
    await assert.rejects(readCliConfig(path), /is not valid JSON/);
  });
});

Deno.test("config: resolution order is flag, WARREN_MANAGER, then the config file", async () => {
  await withTempDir(async (dir) => {
    const configPath = join(dir, "config.json");
    const env = envOf({ WARREN_MANAGER: "10.0.0.9:4242" });
    // Nothing configured anywhere: the one clear message.
    await assert.rejects(
      resolveTarget({ configPath, env: envOf({}) }),
      (err: Error) => err.message === NO_MANAGER_MESSAGE,
    );
    await writeCliConfig(configPath, {
      managers: ["10.0.0.1:4242", "10.0.0.2:4242"],
      clusterId: "c1",
      tls: { caFile: "ca.pem", certFile: "c.pem", keyFile: "k.pem" },
    });
    const fromConfig = await resolveTarget({ configPath, env: envOf({}) });
    assert.deepEqual(fromConfig.managers, ["10.0.0.1:4242", "10.0.0.2:4242"]);
    assert.equal(fromConfig.source, "config");
    assert.equal(fromConfig.clusterId, "c1");
    assert.equal(fromConfig.tls?.caFile, join(dir, "ca.pem"));
    const fromEnv = await resolveTarget({ configPath, env });
    assert.deepEqual([fromEnv.managers, fromEnv.source], [["10.0.0.9:4242"], "env"]);
    // TLS still comes from the config file.
    assert.equal(fromEnv.tls?.keyFile, join(dir, "k.pem"));
    const fromFlag = await resolveTarget({ configPath, env, flag: ["10.0.0.5:1,10.0.0.6:2"] });
    assert.deepEqual([fromFlag.managers, fromFlag.source], [["10.0.0.5:1", "10.0.0.6:2"], "flag"]);
    // $WARREN_CONFIG picks the file when no path is given.
    const viaEnv = await resolveTarget({ env: envOf({ WARREN_CONFIG: configPath }) });
    assert.equal(viaEnv.source, "config");
  });
});
