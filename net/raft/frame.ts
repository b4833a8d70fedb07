/**
 * Length-prefixed framing for the Raft transport over a byte stream (TCP or TLS): every frame is
 * a big-endian u32 payload length followed by the payload. The first frame on a connection is a
 * {@link Handshake} (which cluster, which node calls, which node it wants); every later frame is
 * one encoded Raft message.
 *
 * ```
 * ┌──────────┬──────────────────┐┌──────────┬─────────────┐
 * │ u32 len  │ handshake        ││ u32 len  │ message     │ ...
 * └──────────┴──────────────────┘└──────────┴─────────────┘
 * handshake = "WRFT" u8 version, then 3 × (u16 len + UTF-8): clusterId, fromId, toId
 * ```
 * The server sends nothing back, but for one frame before it closes a connection it will not
 * serve: a {@link Notice} (`"WRFN" u8 version, u8 kind`), so the sender learns why (see
 * {@link NoticeKind}). A client of an older version ignores it.
 * Frames are bounded ({@link MAX_FRAME_BYTES}): a length past it is a protocol error, so a
 * broken or hostile peer cannot make the reader buffer without limit.
 * @module
 */
import { ValidationError } from "../../proto/errors.ts";

/** Largest payload of one frame (16 MiB, the gRPC transport's message bound). */
export const MAX_FRAME_BYTES = 16 << 20;

const HEADER_BYTES = 4;
const MAGIC = [0x57, 0x52, 0x46, 0x54]; // "WRFT"
const VERSION = 1;
const MAX_ID_BYTES = 1024;

/** Who a connection is from and for: the first frame each side sends. */
export interface Handshake {
  clusterId: string;
  fromId: string;
  toId: string;
}

/**
 * Why a server closes a connection at once after the handshake:
 * - `removed`: the sender was removed from the cluster (`node rm --force`, `cluster leave`), as
 *   the receiver's replicated state records. Definitive: node IDs are never reused.
 */
export type NoticeKind = "removed";

/** What a server tells a client before it closes the connection. */
export interface Notice {
  kind: NoticeKind;
}

const NOTICE_MAGIC = [0x57, 0x52, 0x46, 0x4e]; // "WRFN"
const NOTICE_KINDS: readonly NoticeKind[] = ["removed"];

/** Largest frame a client accepts from a server (notices only). */
export const MAX_NOTICE_FRAME_BYTES = 64;

/** Total bytes {@link writeFrames} needs for `payloads`. */
export function framedSize(payloads: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of payloads) n += HEADER_BYTES + p.byteLength;
  return n;
}

/**
 * Writes `payloads` as consecutive frames into `out` (at least {@link framedSize} bytes) and
 * returns the bytes written. One buffer for many frames is what lets a sender make one socket
 * write per batch.
 */
export function writeFrames(out: Uint8Array, payloads: readonly Uint8Array[]): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let at = 0;
  for (const p of payloads) {
    if (p.byteLength > MAX_FRAME_BYTES) {
      throw new ValidationError("frame", `${p.byteLength} bytes exceed ${MAX_FRAME_BYTES}`);
    }
    view.setUint32(at, p.byteLength);
    out.set(p, at + HEADER_BYTES);
    at += HEADER_BYTES + p.byteLength;
  }
  return at;
}

/** `payloads` as one buffer of frames. */
export function encodeFrames(payloads: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(framedSize(payloads));
  writeFrames(out, payloads);
  return out;
}

/**
 * Reassembles frames from stream chunks of any size: a frame may span many chunks and a chunk
 * may hold many frames. Complete payloads are returned as copies, so they stay valid whatever
 * the stream does with its read buffers.
 */
export class FrameReader {
  readonly #maxFrameBytes: number;
  /** Unconsumed chunks; the first is read from `#offset`. */
  #chunks: Uint8Array[] = [];
  #offset = 0;
  #buffered = 0;

  constructor(opts: { maxFrameBytes?: number } = {}) {
    this.#maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /**
   * Adds one chunk and returns the payloads it completed (possibly none). Throws
   * ValidationError when a frame announces more than the bound; the stream is unusable then.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.byteLength > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.byteLength;
    }
    const out: Uint8Array[] = [];
    while (this.#buffered >= HEADER_BYTES) {
      const len = this.#peekLength();
      if (len > this.#maxFrameBytes) {
        throw new ValidationError("frame", `length ${len} exceeds ${this.#maxFrameBytes} bytes`);
      }
      if (this.#buffered < HEADER_BYTES + len) break;
      this.#skip(HEADER_BYTES);
      out.push(this.#take(len));
    }
    return out;
  }

  #peekLength(): number {
    let len = 0;
    let chunk = 0;
    let at = this.#offset;
    for (let i = 0; i < HEADER_BYTES; i++) {
      while (at >= this.#chunks[chunk].byteLength) {
        chunk++;
        at = 0;
      }
      len = len * 256 + this.#chunks[chunk][at++];
    }
    return len;
  }

  #skip(n: number): void {
    this.#copy(undefined, n);
  }

  #take(n: number): Uint8Array {
    const first = this.#chunks[0];
    // The common case: the whole payload lies in the first chunk.
    if (first && first.byteLength - this.#offset >= n) {
      const out = first.slice(this.#offset, this.#offset + n);
      this.#advance(n);
      return out;
    }
    const out = new Uint8Array(n);
    this.#copy(out, n);
    return out;
  }

  /** Consumes `n` bytes, copying them into `out` when given. */
  #copy(out: Uint8Array | undefined, n: number): void {
    let done = 0;
    while (done < n) {
      const c = this.#chunks[0];
      const take = Math.min(n - done, c.byteLength - this.#offset);
      out?.set(c.subarray(this.#offset, this.#offset + take), done);
      done += take;
      this.#advance(take);
    }
  }

  #advance(n: number): void {
    this.#offset += n;
    this.#buffered -= n;
    if (this.#offset === this.#chunks[0].byteLength) {
      this.#chunks.shift();
      this.#offset = 0;
    }
  }
}

/** Encodes a handshake payload (frame it with {@link encodeFrames}). */
export function encodeHandshake(h: Handshake): Uint8Array {
  const enc = new TextEncoder();
  const fields = [h.clusterId, h.fromId, h.toId].map((s, i) => {
    const b = enc.encode(s);
    if (b.byteLength > MAX_ID_BYTES) {
      throw new ValidationError(["clusterId", "fromId", "toId"][i], "is longer than 1 KiB");
    }
    return b;
  });
  const out = new Uint8Array(MAGIC.length + 1 + fields.reduce((n, f) => n + 2 + f.byteLength, 0));
  out.set(MAGIC);
  out[MAGIC.length] = VERSION;
  let at = MAGIC.length + 1;
  for (const f of fields) {
    out[at] = f.byteLength >> 8;
    out[at + 1] = f.byteLength & 0xff;
    out.set(f, at + 2);
    at += 2 + f.byteLength;
  }
  return out;
}

/** Decodes a handshake payload; throws ValidationError for anything else. */
export function decodeHandshake(b: Uint8Array): Handshake {
  if (b.byteLength < MAGIC.length + 1 || MAGIC.some((m, i) => b[i] !== m)) {
    throw new ValidationError("handshake", "is not a Warren Raft handshake");
  }
  if (b[MAGIC.length] !== VERSION) {
    throw new ValidationError(
      "handshake",
      `has version ${b[MAGIC.length]}, this node speaks ${VERSION}`,
    );
  }
  const dec = new TextDecoder("utf-8", { fatal: true });
  const fields: string[] = [];
  let at = MAGIC.length + 1;
  for (let i = 0; i < 3; i++) {
    if (at + 2 > b.byteLength) throw new ValidationError("handshake", "is truncated");
    const len = (b[at] << 8) | b[at + 1];
    if (at + 2 + len > b.byteLength) throw new ValidationError("handshake", "is truncated");
    try {
      fields.push(dec.decode(b.subarray(at + 2, at + 2 + len)));
    } catch (err) {
      throw new ValidationError("handshake", "holds invalid UTF-8", { cause: err });
    }
    at += 2 + len;
  }
  if (at !== b.byteLength) throw new ValidationError("handshake", "has trailing bytes");
  const [clusterId, fromId, toId] = fields;
  return { clusterId, fromId, toId };
}

/** Encodes a notice payload (frame it with {@link encodeFrames}). */
export function encodeNotice(n: Notice): Uint8Array {
  return new Uint8Array([...NOTICE_MAGIC, VERSION, NOTICE_KINDS.indexOf(n.kind) + 1]);
}

/** Decodes a notice payload; throws ValidationError for anything else (or an unknown kind). */
export function decodeNotice(b: Uint8Array): Notice {
  if (b.byteLength !== NOTICE_MAGIC.length + 2 || NOTICE_MAGIC.some((m, i) => b[i] !== m)) {
    throw new ValidationError("notice", "is not a Warren Raft notice");
  }
  if (b[NOTICE_MAGIC.length] !== VERSION) {
    throw new ValidationError(
      "notice",
      `has version ${b[NOTICE_MAGIC.length]}, this node speaks ${VERSION}`,
    );
  }
  const kind = NOTICE_KINDS[b[NOTICE_MAGIC.length + 1] - 1];
  if (kind === undefined) {
    throw new ValidationError("notice", `has unknown kind ${b[NOTICE_MAGIC.length + 1]}`);
  }
  return { kind };
}
