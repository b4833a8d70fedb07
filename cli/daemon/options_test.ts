import assert from "node:assert/strict";
import { Command } from "commander";
import { addWorkerFlags, parseInsecureRegistry } from "./options.ts";
import { containerdRuntimeOptions } from "./worker_start.ts";
import { ValidationError } from "../../proto/errors.ts";

Deno.test("--insecure-registry takes host or host:port, repeatable, and reaches the runtime", () => {
  assert.equal(parseInsecureRegistry("Registry.LAN:5000"), "registry.lan:5000");
  assert.equal(parseInsecureRegistry("10.0.0.5"), "10.0.0.5");
  assert.equal(parseInsecureRegistry("[fd00::1]:5000"), "[fd00::1]:5000");
  for (const bad of ["http://r:5000", "r:5000/v2", "r:99999", "", "-r", "r:"]) {
    assert.throws(() => parseInsecureRegistry(bad), ValidationError, bad);
  }
  const cmd = addWorkerFlags(new Command("x")).exitOverride();
  cmd.parse(["--insecure-registry", "a.lan:5000", "--insecure-registry", "b.lan"], {
    from: "user",
  });
  const registries = cmd.opts<{ insecureRegistry: string[] }>().insecureRegistry;
  assert.deepEqual(registries, ["a.lan:5000", "b.lan"]);
  assert.deepEqual(
    containerdRuntimeOptions({ dataDir: "/d", managers: ["m:1"], insecureRegistries: registries })
      .insecureRegistries,
    ["a.lan:5000", "b.lan"],
  );
  assert.equal(
    "insecureRegistries" in containerdRuntimeOptions({ dataDir: "/d", managers: ["m:1"] }),
    false,
  );
});
