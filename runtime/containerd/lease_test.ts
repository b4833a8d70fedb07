import assert from "node:assert/strict";
import { startContainerd } from "../../tests/fixtures/containerd.ts";
import { ContainerdClient } from "./client.ts";
import { hasBlob, writeBlob } from "./content.ts";
import { createLease, LEASE_EXPIRE_LABEL, withLease } from "./lease.ts";
import { sha256Hex } from "./_digest.ts";

/** Deleting a lease with sync=true makes containerd run a full GC before answering. */
async function collectGarbage(client: ContainerdClient): Promise<void> {
  const lease = await createLease(client);
  await client.leases.delete({ id: lease.id, sync: true });
}

Deno.test("lease: holds unreferenced content until released, then GC takes it", async () => {
  await using ctd = await startContainerd();
  using client = new ContainerdClient({ socket: ctd.socket, namespace: ctd.namespace });
  const data = new TextEncoder().encode("held by a lease");
  const digest = `sha256:${await sha256Hex(data)}`;

  const lease = await createLease(client, {
    labels: { "warren.test": "1" },
    expireAfterMs: 60_000,
  });
  const { leases } = await client.leases.list({ filters: [`id==${lease.id}`] });
  assert.equal(leases.length, 1);
  assert.equal(leases[0].labels["warren.test"], "1");
  const expire = Date.parse(leases[0].labels[LEASE_EXPIRE_LABEL]);
  assert.ok(expire > Date.now() + 50_000 && expire <= Date.now() + 60_000);

  await writeBlob(client, { digest, size: data.byteLength, data, lease: lease.id });
  await collectGarbage(client);
  assert.equal(await hasBlob(client, digest), true, "GC took content a lease holds");

  await lease.release();
  await lease.release(); // idempotent
  await collectGarbage(client);
  assert.equal(await hasBlob(client, digest), false, "unreferenced content survived GC");
});

Deno.test("withLease: releases the lease when the body throws", async () => {
  await using ctd = await startContainerd();
  using client = new ContainerdClient({ socket: ctd.socket, namespace: ctd.namespace });
  let id = "";
  await assert.rejects(
    withLease(client, (leaseId) => {
      id = leaseId;
      return Promise.reject(new Error("boom"));
    }),
    /boom/,
  );
  assert.notEqual(id, "");
  const { leases } = await client.leases.list({ filters: [] });
  assert.deepEqual(leases.map((l) => l.id), []);
});
