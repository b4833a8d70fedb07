/**
 * Growable byte writer and bounds-checked reader for the binary codec: unsigned varints (safe
 * integers up to 2^53), length-prefixed bytes and UTF-8 strings.
 * @module
 */
import { ValidationError } from "../../../proto/errors.ts";

const utf8 = new TextEncoder();
const utf8d = new TextDecoder("utf-8", { fatal: true });

/** Appends encoded values to a growing buffer. */
export class ByteWriter {
  #buf: Uint8Array;
  #len = 0;

  constructor(initialBytes = 256) {
    this.#buf = new Uint8Array(initialBytes);
  }

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  u8(v: number): void {
    this.#ensure(1);
    this.#buf[this.#len++] = v;
  }

  bool(v: boolean): void {
    this.u8(v ? 1 : 0);
  }

  /** Unsigned LEB128 of a non-negative safe integer. */
  uvarint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new ValidationError("", `cannot encode ${v} as uvarint`);
    }
    this.#ensure(8);
    while (v >= 0x80) {
      this.#buf[this.#len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.#buf[this.#len++] = v;
  }

  bytes(b: Uint8Array): void {
    this.uvarint(b.byteLength);
    this.#ensure(b.byteLength);
    this.#buf.set(b, this.#len);
    this.#len += b.byteLength;
  }

  str(s: string): void {
    this.bytes(utf8.encode(s));
  }

  /** The encoded bytes (a view of the internal buffer; do not write afterwards). */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}

/** Reads values written by {@link ByteWriter}; throws ValidationError on malformed input. */
export class ByteReader {
  readonly #buf: Uint8Array;
  #pos = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  #need(n: number): void {
    if (this.#pos + n > this.#buf.length) {
      throw new ValidationError("message", `truncated input at byte ${this.#pos} (need ${n} more)`);
    }
  }

  u8(): number {
    this.#need(1);
    return this.#buf[this.#pos++];
  }

  bool(): boolean {
    return this.u8() !== 0;
  }

  uvarint(): number {
    let result = 0, mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) throw new ValidationError("message", "varint overflows");
        return result;
      }
      mul *= 0x80;
    }
    throw new ValidationError("message", "varint too long");
  }

  /** Length-prefixed bytes, as a view of the input (no copy). */
  bytes(): Uint8Array {
    const n = this.uvarint();
    this.#need(n);
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  str(): string {
    try {
      return utf8d.decode(this.bytes());
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      throw new ValidationError("message", "invalid UTF-8 string", { cause: err });
    }
  }

  /** Whether all input was consumed. */
  done(): boolean {
    return this.#pos === this.#buf.length;
  }
}
