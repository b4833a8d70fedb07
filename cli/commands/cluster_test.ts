import assert from "node:assert/strict";
import { join } from "node:path";
import { clusterCommand, clusterInfoLines } from "./cluster.ts";
import { ClusterInfoSchema } from "../../proto/schema/mod.ts";
import { ValidationError } from "../../proto/errors.ts";
import type { WarrenClient } from "../../net/client/client.ts";
import { testCliContext } from "./_cli_context_test_util.ts";

Deno.test("cluster info: shows the active feature level and each manager's binary level", () => {
  const info = ClusterInfoSchema.parse({
    id: "c1",
    name: "warren",
    createdAt: 0,
    raft: { term: 2, leaderId: "m1", index: 40 },
    managers: 3,
    workers: 0,
    version: "0.1.0",
    featureLevel: 1,
    managerFeatureLevels: [
      { nodeId: "m1", hostname: "alpha", featureLevel: 2 },
      { nodeId: "m2", hostname: "beta", featureLevel: 1 },
      { nodeId: "m3" },
    ],
  });
  const lines = clusterInfoLines(info, 1000).split("\n");
  assert.ok(lines.some((l) => /^Feature level:\s+1$/.test(l)), lines.join("\n"));
  assert.ok(
    lines.some((l) =>
      /^Manager binaries:\s+alpha \(m1\) at level 2, beta \(m2\) at level 1, m3 at level unknown$/
        .test(l)
    ),
    lines.join("\n"),
  );
  // From a manager before feature levels: level 1, no manager known.
  const { featureLevel: _, managerFeatureLevels: __, ...old } = info;
  const oldLines = clusterInfoLines(ClusterInfoSchema.parse(old), 1000);
  assert.match(oldLines, /^Feature level:\s+1$/m);
  assert.match(oldLines, /^Manager binaries:\s+\(none known\)$/m);
});

/** Runs `cluster ARGS` against a client that must not be called. */
async function runCluster(args: string[]): Promise<void> {
  const client = new Proxy({ close() {} }, {
    get: (t, k) => k in t ? t[k as "close"] : assert.fail(`the client was used (${String(k)})`),
  }) as unknown as WarrenClient;
  const cmd = clusterCommand(testCliContext(client)).exitOverride();
  for (const sub of cmd.commands) sub.exitOverride().configureOutput({ writeErr: () => {} });
  await cmd.parseAsync([...args, "--manager", "127.0.0.1:1"], { from: "user" });
}

Deno.test("cluster update --autolock takes true|false, as its help says, and names the flag", async () => {
  const update = clusterCommand(testCliContext({} as WarrenClient)).commands.find((c) =>
    c.name() === "update"
  )!;
  assert.match(update.helpInformation(), /--autolock <true\|false>/);
  await assert.rejects(
    runCluster(["update", "--autolock", "on"]),
    (err: unknown) =>
      err instanceof ValidationError && err.field === "--autolock" &&
      err.message === '--autolock: must be true or false, got "on"',
  );
});

Deno.test("cluster unlock --key-file that cannot be read names the flag and the file", async () => {
  const missing = join(await Deno.makeTempDir(), "missing.key");
  await assert.rejects(
    runCluster(["unlock", "--key-file", missing]),
    (err: unknown) =>
      err instanceof ValidationError && err.field === "--key-file" &&
      err.message.startsWith(`--key-file: cannot read ${missing}: `),
  );
});
