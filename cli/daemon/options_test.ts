import assert from "node:assert/strict";
import { Command } from "commander";
import { addWorkerFlags, hostAddress, parseInsecureRegistry } from "./options.ts";
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

Deno.test("options: the advertise address skips loopback and Warren's own and other virtual interfaces", () => {
  const ifs = [
    { name: "lo", family: "IPv4", address: "127.0.0.1" },
    { name: "wbr1a2b3c4d", family: "IPv4", address: "10.240.0.1" },
    { name: "wg-0123456789ab", family: "IPv4", address: "10.250.0.1" },
    { name: "docker0", family: "IPv4", address: "172.17.0.1" },
    { name: "eth0", family: "IPv6", address: "fe80::1" },
    { name: "eth0", family: "IPv4", address: "192.168.1.20" },
  ] as const;
  assert.equal(hostAddress(ifs), "192.168.1.20");
  assert.equal(hostAddress(ifs.slice(0, 4)), undefined, "only virtual ones: none");
});
