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

Deno.test("cluster keys: a request digest is the same on every manager, and keyed", async () => {
  const { keys, security } = await ClusterKeys.create("c1", Date.UTC(2030, 0, 1));
  // Another manager opens the replicated keys with the same KEK.
  const other = await ClusterKeys.open("c1", security, keys.kekRaw);
  const data = new TextEncoder().encode("hunter2");
  const digest = await keys.requestDigest(data);
  assert.equal(await other.requestDigest(data), digest, "a retry served elsewhere digests alike");
  assert.notEqual(await keys.requestDigest(new TextEncoder().encode("hunter3")), digest);
  // Without the cluster's keys a guess cannot be checked: it is no plain hash of the data.
  const plain = btoa(
    String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-256", data))),
  );
  assert.notEqual(digest, plain);
  const { keys: foreign } = await ClusterKeys.create("c2", Date.UTC(2030, 0, 1));
  assert.notEqual(await foreign.requestDigest(data), digest);
});
