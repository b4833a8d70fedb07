import assert from "node:assert/strict";
import { startContainerd } from "../../tests/fixtures/containerd.ts";
import { ValidationError } from "../../proto/errors.ts";
import { ContainerdClient } from "./client.ts";
import { hasBlob, readBlob, setBlobLabels, writeBlob } from "./content.ts";
import { withLease } from "./lease.ts";
import { sha256Hex } from "./_digest.ts";

function streamOf(data: Uint8Array, pieceBytes: number): ReadableStream<Uint8Array> {
  let pos = 0;
  return new ReadableStream({
    pull(c) {
      if (pos >= data.byteLength) return c.close();
      c.enqueue(data.slice(pos, pos += pieceBytes));
    },
  });
}

Deno.test("content: streamed write, labels, read back, concurrent writers, corrupt data", async () => {
  await using ctd = await startContainerd();
  using client = new ContainerdClient({ socket: ctd.socket, namespace: ctd.namespace });
  // 2.5 MiB in odd-sized pieces: exercises re-chunking across the 1 MiB message boundary.
  const data = new Uint8Array(2.5 * 1024 * 1024).map((_, i) => (i * 7 + 3) % 256);
  const digest = `sha256:${await sha256Hex(data)}`;
  await withLease(client, async (lease) => {
    assert.equal(await hasBlob(client, digest), false);
    const progress: number[] = [];
    await writeBlob(client, {
      digest,
      size: data.byteLength,
      data: streamOf(data, 100_003),
      labels: { "test.a": "1" },
      lease,
      onProgress: (n) => progress.push(n),
    });
    assert.equal(progress.at(-1), data.byteLength);
    assert.equal(await hasBlob(client, digest), true);
    assert.deepEqual(await readBlob(client, digest), data);

    // A second writer of the same bytes succeeds and its labels are merged in.
    await Promise.all([
      writeBlob(client, { digest, size: data.byteLength, data, labels: { "test.b": "2" }, lease }),
      setBlobLabels(client, digest, { "test.c": "3" }, { lease }),
    ]);
    const { info } = await client.content.info({ digest });
    assert.equal(info?.labels["test.a"], "1");
    assert.equal(info?.labels["test.b"], "2");
    assert.equal(info?.labels["test.c"], "3");

    // Bytes that do not hash to the expected digest are refused and leave no ingest behind.
    const wrong = `sha256:${"0".repeat(64)}`;
    await assert.rejects(
      writeBlob(client, { digest: wrong, size: 5, data: new Uint8Array(5), lease }),
      (err) => err instanceof ValidationError && /corrupted/.test(err.message),
    );
    await assert.rejects(
      writeBlob(client, { digest: wrong, size: 4, data: new Uint8Array(5), lease }),
      (err) => err instanceof ValidationError && /larger/.test(err.message),
    );
    assert.equal(await hasBlob(client, wrong), false);
    const { statuses } = await client.content.listStatuses({ filters: [] });
    assert.deepEqual(statuses, []);
  });
});
