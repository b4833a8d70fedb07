/**
 * The bundle the shipped binary is compiled from (`deno task bundle`: minified, split into
 * chunks), run as a real manager: `cluster init`, then the bundled CLI creates, lists and removes
 * a service through it. Minifying renames classes and functions; this catches code that leaned
 * on a name. Run by `deno task bundle:smoke` with `WARREN_ENTRY` set to the bundle.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, daemonFlags, kill, managerProc, startDaemon } from "../integration/_cluster_procs.ts";

Deno.test("bundle: a manager and the CLI from the bundle run a service's lifecycle", async () => {
  const bundle = Deno.env.get("WARREN_ENTRY");
  assert.ok(bundle?.includes("dist/"), `WARREN_ENTRY names the bundle, not ${bundle}`);
  const dir = await Deno.makeTempDir({ prefix: "warren-bundle-" });
  const env = { WARREN_CONFIG: join(dir, "cli", "config.json"), NO_COLOR: "1" };
  const m = managerProc("m1", dir);
  try {
    await startDaemon(
      m,
      env,
      ["cluster", "init", "--manager-only", ...daemonFlags(m)],
      /cluster \S+ running/,
    );
    const version = await cli(env, ["version"]);
    assert.equal(version.code, 0, version.stderr);
    const create = await cli(env, [
      "service",
      "create",
      "web",
      "--image",
      "registry.local/web:1",
      "--replicas",
      "0",
    ]);
    assert.equal(create.code, 0, create.stderr);
    const ls = await cli(env, ["service", "ls"]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /\bweb\b/);
    const bad = await cli(env, ["service", "create", "Bad Name", "--image", "x"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /name/);
    const rm = await cli(env, ["service", "rm", "web"]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.doesNotMatch((await cli(env, ["service", "ls"])).stdout, /\bweb\b/);
  } finally {
    await kill(m);
    await Deno.remove(dir, { recursive: true });
  }
});
