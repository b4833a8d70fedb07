import assert from "node:assert/strict";
import { join } from "node:path";
import { checkArchitecture } from "./arch.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("architecture: this repository follows the dependency rules", async () => {
  const violations = await checkArchitecture(ROOT);
  assert.deepEqual(violations, [], violations.map((v) => `${v.file}: ${v.detail}`).join("\n"));
});

/** Writes a small tree of files and returns its root. */
async function plant(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "warren-arch-plant-" });
  await Deno.writeTextFile(join(root, "deno.json"), "{}\n");
  for (const [path, src] of Object.entries(files)) {
    await Deno.mkdir(join(root, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(root, path), src);
  }
  return root;
}

Deno.test("architecture: each planted violation is caught by its rule", async () => {
  const root = await plant({
    "proto/a.ts": 'import "../manager/api/x.ts";\nexport const a = 1;\n',
    "manager/api/x.ts": "export const x = 1;\n",
    "manager/raft/core/clock.ts":
      "// Date.now in a comment is fine\nexport const t = Date.now();\n",
    "manager/raft/core/io.ts": 'import "node:fs";\nexport const y = 1;\n',
    "manager/scheduler/s.ts": 'import "../api/x.ts";\nexport const s = Math.random();\n',
    "manager/state/fsm.ts": "export const f = () => setTimeout(() => {}, 1);\n",
    "worker/agent.ts": 'import "../runtime/containerd/client.ts";\n',
    "runtime/containerd/client.ts": "export const c = 1;\n",
    "net/grpc/server.ts": 'import "../../worker/agent.ts";\n',
    "cli/commands/service.ts": 'import "../../manager/api/x.ts";\n',
    "cli/daemon/manager.ts": 'import "../../manager/api/x.ts";\n',
    "manager/leader.ts": 'import "../tests/fixtures/f.ts";\n',
    "tests/fixtures/f.ts": "export const f = 1;\n",
    "manager/raft/core/ok_test.ts": "Deno.test('x', () => {});\n",
  });
  try {
    const found = (await checkArchitecture(root)).map((v) => `${v.rule} ${v.file}`).sort();
    assert.deepEqual(found, [
      "cli-clients-use-net-and-proto cli/commands/service.ts",
      "net-knows-no-manager-or-worker net/grpc/server.ts",
      "production-never-imports-tests manager/leader.ts",
      "proto-is-a-leaf proto/a.ts",
      "pure-core manager/raft/core/clock.ts",
      "pure-core manager/raft/core/io.ts",
      "pure-core manager/scheduler/s.ts",
      "pure-core manager/scheduler/s.ts",
      "pure-core manager/state/fsm.ts",
      "worker-uses-runtime-interface worker/agent.ts",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("architecture: a clean planted tree has no violations", async () => {
  const root = await plant({
    "proto/a.ts": "export const a = 1;\n",
    "manager/raft/core/r.ts": 'import { a } from "../../../proto/a.ts";\nexport const r = a;\n',
    "cli/daemon/manager.ts": 'import "../../manager/raft/core/r.ts";\n',
  });
  try {
    assert.deepEqual(await checkArchitecture(root), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
