import assert from "node:assert/strict";
import { CniError, invokeCniPlugin } from "./plugin.ts";

const hasPlugins = (() => {
  try {
    return Deno.statSync("/usr/lib/cni/host-local").isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "invokeCniPlugin: VERSION returns the plugin's supported versions",
  ignore: !hasPlugins,
  fn: async () => {
    const r = await invokeCniPlugin({
      command: "VERSION",
      containerId: "x",
      netns: "",
      ifName: "eth0",
      config: { type: "host-local", cniVersion: "1.0.0", name: "t" },
    });
    assert.ok((r?.supportedVersions as string[]).includes("1.0.0"));
  },
});

Deno.test({
  name: "invokeCniPlugin: the plugin's error JSON becomes a CniError with its code",
  ignore: !hasPlugins,
  fn: async () => {
    const err = await invokeCniPlugin({
      command: "ADD",
      containerId: "x",
      netns: "/nonexistent",
      ifName: "eth0",
      // host-local with no ranges: an invalid configuration.
      config: { type: "host-local", cniVersion: "1.0.0", name: "t", ipam: { type: "host-local" } },
    }).then(() => undefined, (e) => e);
    assert.ok(err instanceof CniError, String(err));
    assert.equal(err.plugin, "host-local");
    assert.match(err.message, /CNI plugin "host-local" ADD failed \(code \d+\)/);
  },
});

Deno.test("invokeCniPlugin: refuses a plugin type that is not a plain name", async () => {
  await assert.rejects(
    invokeCniPlugin({
      command: "ADD",
      containerId: "x",
      netns: "/x",
      ifName: "eth0",
      config: { type: "../../bin/sh" },
    }),
    CniError,
  );
});
