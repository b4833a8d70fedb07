import assert from "node:assert/strict";
import { clusterInfoLines } from "./cluster.ts";
import { ClusterInfoSchema } from "../../proto/schema/mod.ts";

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
