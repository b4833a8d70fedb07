import assert from "node:assert/strict";
import { startContainerd } from "../../tests/fixtures/containerd.ts";
import { startRegistry } from "../../tests/fixtures/registry.ts";
import { buildExitImage, pushImage } from "../../tests/fixtures/image.ts";
import { ContainerdClient } from "./client.ts";
import { readBlob } from "./content.ts";
import { createLease } from "./lease.ts";
import { pullImage, type PullProgress } from "./pull.ts";

/** Deleting a lease with sync=true makes containerd run a full GC before answering. */
async function collectGarbage(client: ContainerdClient): Promise<void> {
  const lease = await createLease(client);
  await client.leases.delete({ id: lease.id, sync: true });
}

async function contentDigests(client: ContainerdClient): Promise<string[]> {
  const out: string[] = [];
  for await (const res of client.content.list({ filters: [] })) {
    out.push(...res.info.map((i) => i.digest));
  }
  return out.sort();
}

async function snapshotNames(client: ContainerdClient): Promise<string[]> {
  const out: string[] = [];
  for await (const res of client.snapshots.list({ snapshotter: "overlayfs", filters: [] })) {
    out.push(...res.info.map((i) => i.name));
  }
  return out.sort();
}

Deno.test("pull: GC labels keep a pulled image alive, and deleting it frees everything", async () => {
  await using ctd = await startContainerd();
  await using registry = await startRegistry();
  using client = new ContainerdClient({ socket: ctd.socket, namespace: ctd.namespace });
  const built = await buildExitImage({ exitCode: 0, platforms: ["amd64", "arm64"] });
  const { reference, digest } = await pushImage(registry, "warren/gc", "v1", built);

  const events: PullProgress[] = [];
  // Two concurrent pulls of one reference share one in-flight pull (and both see progress).
  const seen2: PullProgress["phase"][] = [];
  const [a, b] = await Promise.all([
    pullImage(client, reference, {
      platform: { os: "linux", architecture: "arm64" },
      onProgress: (e) => events.push(e),
    }),
    pullImage(client, reference, {
      platform: { os: "linux", architecture: "arm64" },
      onProgress: (e) => seen2.push(e.phase),
    }),
  ]);
  assert.equal(a, b);
  assert.deepEqual(events.map((e) => e.phase).at(0), "resolved");
  assert.ok(seen2.includes("done"));
  assert.equal(a.target.digest, digest);
  assert.equal(a.config.architecture, "arm64");
  const arm = built.manifests.find((m) => m.arch === "arm64")!;
  assert.equal(a.manifestDigest, arm.descriptor.digest);

  await collectGarbage(client);
  const expected = [
    digest,
    arm.descriptor.digest,
    arm.config.digest,
    ...arm.layers.map((l) => l.digest),
  ];
  assert.deepEqual(await contentDigests(client), expected.sort());
  assert.deepEqual(await snapshotNames(client), [a.chainId]);
  assert.deepEqual(await readBlob(client, a.manifestDigest), arm.bytes);
  const { image } = await client.images.get({ name: reference });
  assert.equal(image?.target?.digest, digest);

  // Pulling again is a no-op that re-points the image (Images/Update path), layers cached.
  const again: PullProgress[] = [];
  await pullImage(client, reference, {
    platform: { os: "linux", architecture: "arm64" },
    onProgress: (e) => again.push(e),
  });
  assert.ok(again.every((e) => !("cached" in e) || e.cached));

  await client.images.delete({ name: reference, sync: true });
  const deadline = Date.now() + 10_000;
  while ((await contentDigests(client)).length + (await snapshotNames(client)).length > 0) {
    assert.ok(Date.now() < deadline, "content or snapshots outlived their image");
    await collectGarbage(client);
  }
});

Deno.test("pull: missing tag and wrong platform fail clearly", async () => {
  await using ctd = await startContainerd();
  await using registry = await startRegistry();
  using client = new ContainerdClient({ socket: ctd.socket, namespace: ctd.namespace });
  const { reference } = await pushImage(
    registry,
    "warren/one",
    "v1",
    await buildExitImage({ exitCode: 0 }),
  );
  await assert.rejects(pullImage(client, `${registry.host}/warren/one:nope`), (err) => {
    assert.equal((err as { code?: string }).code, "not_found");
    return true;
  });
  // A single-platform amd64 image refuses to be pulled for an arm64 node.
  await assert.rejects(
    pullImage(client, reference, { platform: { os: "linux", architecture: "arm64" } }),
    /is linux\/amd64, this node needs linux\/arm64/,
  );
  assert.deepEqual(await contentDigests(client), []);
});

Deno.test("pull: a pull in flight is shared only by callers with the same credentials", async () => {
  await using ctd = await startContainerd();
  await using registry = await startRegistry({ auth: "basic" });
  using client = new ContainerdClient({ socket: ctd.socket, namespace: ctd.namespace });
  const { reference } = await pushImage(
    registry,
    "warren/private",
    "v1",
    await buildExitImage({ exitCode: 0 }),
  );
  const credentials = registry.credentials!;
  // Two services of one image at once, one with the registry login and one without: each pull
  // stands on its own credentials, in either order.
  for (const authedFirst of [false, true]) {
    const anonymous = () => pullImage(client, reference);
    const authed = () => pullImage(client, reference, { credentials });
    const [first, second] = authedFirst ? [authed(), anonymous()] : [anonymous(), authed()];
    const [a, b] = await Promise.allSettled(authedFirst ? [second, first] : [first, second]);
    assert.equal(a.status, "rejected", "without credentials the registry refuses");
    assert.equal((a as PromiseRejectedResult).reason.code, "unauthenticated");
    assert.equal(b.status, "fulfilled", "with them it answers");
  }
});
