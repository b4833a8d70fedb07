/**
 * containerd's content store (blobs addressed by digest): existence checks, streamed writes through
 * the Content/Write bidi stream with digest verification and GC labels, reads, and label updates.
 */
import { ValidationError } from "../../proto/errors.ts";
import {
  type CallOptions,
  type ContainerdClient,
  isContainerdCode,
  toContainerdError,
} from "./client.ts";
import {
  WriteAction,
  type WriteContentRequest,
  type WriteContentResponse,
} from "./gen/github.com/containerd/containerd/api/services/content/v1/content.ts";
import { sha256Stream } from "./_digest.ts";

const WRITE_PATH = "/containerd.services.content.v1.Content/Write";
/** Bytes per Write message: well under containerd's 16 MiB message limit. */
const CHUNK_BYTES = 1024 * 1024;

/** True when the content store holds blob `digest`. */
export async function hasBlob(
  client: ContainerdClient,
  digest: string,
  options: CallOptions = {},
): Promise<boolean> {
  try {
    await client.content.info({ digest }, options);
    return true;
  } catch (err) {
    if (isContainerdCode(err, "not_found")) return false;
    throw err;
  }
}

/** What {@link writeBlob} stores. */
export interface WriteBlobInput {
  /** Expected digest; the write fails unless the bytes hash to it. */
  digest: string;
  /** Expected size in bytes. */
  size: number;
  /** The bytes. */
  data: ReadableStream<Uint8Array> | Uint8Array;
  /** Labels committed with the blob (GC references, uncompressed digest, ...). */
  labels?: Record<string, string>;
  /** Lease protecting the blob until something references it. */
  lease?: string;
  /** Called with the bytes written so far. */
  onProgress?: (bytesDone: number) => void;
}

/**
 * Streams a blob into the content store and commits it under its digest, verifying the digest and
 * size on the client (and containerd verifies again on commit). A blob that appears concurrently
 * (another writer committed first) counts as success.
 */
export async function writeBlob(client: ContainerdClient, input: WriteBlobInput): Promise<void> {
  // A unique ingest ref per write: two pulls that share a layer never contend for one ref lock.
  const ref = `warren-${input.digest.replace(":", "-")}-${crypto.randomUUID()}`;
  const call = client.content.write({ lease: input.lease });
  const responses = call[Symbol.asyncIterator]() as AsyncIterator<WriteContentResponse>;
  const exchange = async (
    req: Partial<WriteContentRequest> & Pick<WriteContentRequest, "action">,
  ): Promise<WriteContentResponse> => {
    call.write({
      ref,
      total: 0,
      expected: "",
      offset: 0,
      data: new Uint8Array(),
      labels: {},
      ...req,
    });
    const next = await responses.next();
    if (next.done) throw new Error("content write stream closed early");
    return next.value;
  };
  const hasher = sha256Stream();
  let offset = 0;
  let committed = false;
  try {
    const stat = await exchange({
      action: WriteAction.STAT,
      total: input.size,
      expected: input.digest,
    });
    if (stat.offset !== 0) {
      throw new Error(`fresh ingest ${ref} unexpectedly at offset ${stat.offset}`);
    }
    const send = async (chunk: Uint8Array) => {
      hasher.update(chunk);
      const res = await exchange({ action: WriteAction.WRITE, offset, data: chunk });
      offset += chunk.byteLength;
      if (res.offset !== offset) {
        throw new Error(`content write at ${res.offset}, expected ${offset}`);
      }
      input.onProgress?.(offset);
    };
    for await (const chunk of rechunk(input.data, CHUNK_BYTES)) {
      if (offset + chunk.byteLength > input.size) {
        throw new ValidationError(
          "image",
          `blob ${input.digest} is larger than its ${input.size} bytes`,
        );
      }
      await send(chunk);
    }
    if (offset !== input.size) {
      throw new ValidationError(
        "image",
        `blob ${input.digest}: got ${offset} of ${input.size} bytes`,
      );
    }
    const actual = hasher.digest();
    if (actual !== input.digest) {
      throw new ValidationError("image", `blob ${input.digest} has digest ${actual}: corrupted`);
    }
    await exchange({
      action: WriteAction.COMMIT,
      // The offset must be the current one: offset 0 on commit makes containerd truncate.
      offset,
      total: input.size,
      expected: input.digest,
      labels: input.labels ?? {},
    });
    committed = true;
    call.end();
  } catch (err) {
    call.cancel();
    if (err instanceof ValidationError) throw err;
    const e = toContainerdError(WRITE_PATH, err);
    if (e.code !== "already_exists") throw e;
    // Another writer committed the same bytes first: keep its blob, but make sure our labels
    // (GC references) are on it too.
    committed = true;
    await setBlobLabels(client, input.digest, input.labels ?? {}, { lease: input.lease });
  } finally {
    if (!committed) {
      await client.content.abort({ ref }).catch(() => {}); // drop the partial ingest
    }
  }
}

/** Yields `data` in chunks of at most `size` bytes, coalescing small network reads. */
async function* rechunk(
  data: ReadableStream<Uint8Array> | Uint8Array,
  size: number,
): AsyncGenerator<Uint8Array> {
  if (data instanceof Uint8Array) {
    for (let i = 0; i < data.byteLength; i += size) yield data.subarray(i, i + size);
    return;
  }
  let buf = new Uint8Array(size);
  let used = 0;
  for await (const piece of data) {
    let pos = 0;
    while (pos < piece.byteLength) {
      const n = Math.min(size - used, piece.byteLength - pos);
      buf.set(piece.subarray(pos, pos + n), used);
      used += n;
      pos += n;
      if (used === size) {
        yield buf;
        buf = new Uint8Array(size);
        used = 0;
      }
    }
  }
  if (used > 0) yield buf.subarray(0, used);
}

/** Reads a whole blob (manifests, configs: small ones) from the content store. */
export async function readBlob(
  client: ContainerdClient,
  digest: string,
  options: CallOptions = {},
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const res of client.content.read({ digest, offset: 0, size: 0 }, options)) {
      parts.push(res.data);
      total += res.data.byteLength;
    }
  } catch (err) {
    throw toContainerdError("/containerd.services.content.v1.Content/Read", err);
  }
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.byteLength;
  }
  return out;
}

/** Sets (merges) labels on an existing blob, leaving its other labels alone. */
export async function setBlobLabels(
  client: ContainerdClient,
  digest: string,
  labels: Record<string, string>,
  options: CallOptions = {},
): Promise<void> {
  const keys = Object.keys(labels);
  if (keys.length === 0) return;
  await client.content.update({
    info: { digest, size: 0, createdAt: undefined, updatedAt: undefined, labels },
    updateMask: keys.map((k) => `labels.${k}`),
  }, options);
}
