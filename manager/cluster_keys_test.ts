import assert from "node:assert/strict";
import { ClusterKeys } from "./cluster_keys.ts";
import { createCsr, generateKeyPair, MANAGER_SAN, parseCert } from "./security/mod.ts";

Deno.test("cluster keys: only a manager's certificate names the manager server", async () => {
  const now = Date.UTC(2030, 0, 1);
  const { keys } = await ClusterKeys.create("c1", now);
  const csrPem = await createCsr({ keyPair: await generateKeyPair() });
  // A joining worker claiming the managers' name as its host name does not get it.
  const worker = await parseCert(
    await keys.signNode({
      csrPem,
      nodeId: "w1",
      role: "worker",
      sans: [MANAGER_SAN, "edge-1"],
      now,
    }),
  );
  assert.deepEqual(worker.sans.sort(), ["edge-1", "w1"]);
  const manager = await parseCert(
    await keys.signNode({ csrPem, nodeId: "m1", role: "manager", sans: ["10.0.0.1"], now }),
  );
  assert.ok(manager.sans.includes(MANAGER_SAN));
});
