/**
 * ASN.1 DER, the subset X.509 certificates and PKCS#10 requests use: a writer (tag-length-value
 * builders) and a reader (one TLV at a time). Small on purpose: the CA builds and reads its
 * certificates with it instead of a certificate library that costs a long-running node ~8 MiB
 * (see x509_lib.ts).
 * @module
 */

/** Universal and context tags used here. */
export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** One tag-length-value with `content` (the parts concatenated). */
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const len = content.reduce((n, c) => n + c.length, 0);
  const head = lengthBytes(len);
  const out = new Uint8Array(1 + head.length + len);
  out[0] = tag;
  out.set(head, 1);
  let at = 1 + head.length;
  for (const c of content) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function lengthBytes(len: number): number[] {
  if (len < 0x80) return [len];
  const bytes: number[] = [];
  for (let n = len; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** SEQUENCE of `parts`. */
export const seq = (...parts: Uint8Array[]) => tlv(Tag.sequence, ...parts);
/** SET of `parts` (callers pass one element, or elements already in DER order). */
export const set = (...parts: Uint8Array[]) => tlv(Tag.set, ...parts);
/** `[n]` EXPLICIT (constructed context tag) around `parts`. */
export const explicit = (n: number, ...parts: Uint8Array[]) => tlv(0xa0 | n, ...parts);
/** `[n]` IMPLICIT primitive (context tag) holding `bytes`. */
export const implicit = (n: number, bytes: Uint8Array) => tlv(0x80 | n, bytes);
/** OCTET STRING. */
export const octets = (bytes: Uint8Array) => tlv(Tag.octetString, bytes);
/** BOOLEAN. */
export const bool = (v: boolean) => tlv(Tag.boolean, Uint8Array.of(v ? 0xff : 0));
/** UTF8String. */
export const utf8 = (s: string) => tlv(Tag.utf8String, new TextEncoder().encode(s));

/** BIT STRING of whole bytes, or of `bits` bits when the last byte is partly used. */
export function bitString(bytes: Uint8Array, unusedBits = 0): Uint8Array<ArrayBuffer> {
  return tlv(Tag.bitString, Uint8Array.of(unusedBits), bytes);
}

/** INTEGER from an unsigned big-endian magnitude (minimal: leading zeros dropped, sign byte added). */
export function uint(magnitude: Uint8Array): Uint8Array<ArrayBuffer> {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return (m[0] ?? 0) & 0x80 ? tlv(Tag.integer, Uint8Array.of(0), m) : tlv(Tag.integer, m);
}

/** INTEGER from a small non-negative number. */
export function int(n: number): Uint8Array<ArrayBuffer> {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return uint(Uint8Array.from(bytes.length ? bytes : [0]));
}

/** OBJECT IDENTIFIER from dotted text, e.g. `2.5.29.19`. */
export function oid(dotted: string): Uint8Array<ArrayBuffer> {
  const arcs = dotted.split(".").map(Number);
  // The first two arcs share one subidentifier (X.690 8.19.4); each is base-128, high bit = more.
  const bytes: number[] = [];
  for (const sub of [arcs[0] * 40 + arcs[1], ...arcs.slice(2)]) {
    const b7: number[] = [sub & 0x7f];
    for (let v = Math.floor(sub / 128); v > 0; v = Math.floor(v / 128)) {
      b7.unshift(0x80 | (v & 0x7f));
    }
    bytes.push(...b7);
  }
  return tlv(Tag.oid, Uint8Array.from(bytes));
}

/** A time as X.509 wants it: UTCTime for 1950-2049, GeneralizedTime otherwise (whole seconds). */
export function time(ms: number): Uint8Array<ArrayBuffer> {
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "") + "Z";
  const year = Number(iso.slice(0, 4));
  const utc = year >= 1950 && year < 2050;
  return tlv(
    utc ? Tag.utcTime : Tag.generalizedTime,
    new TextEncoder().encode(utc ? digits.slice(2) : digits),
  );
}

/** One TLV read from a buffer: its tag, its whole encoding and its content. */
export interface Node {
  tag: number;
  /** The whole TLV (what a signature covers when this is a to-be-signed part). */
  der: Uint8Array;
  /** The content octets. */
  content: Uint8Array;
}

/** Reads the TLV at `offset` of `buf`. Throws a TypeError on truncated or indefinite lengths. */
export function read(buf: Uint8Array, offset = 0): Node {
  if (offset + 2 > buf.length) throw new TypeError("DER: truncated");
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new TypeError("DER: multi-byte tags are not supported");
  let len = buf[offset + 1];
  let head = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new TypeError("DER: unsupported length");
    if (offset + 2 + n > buf.length) throw new TypeError("DER: truncated");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i];
    head += n;
  }
  const end = offset + head + len;
  if (end > buf.length) throw new TypeError("DER: truncated");
  return { tag, der: buf.subarray(offset, end), content: buf.subarray(offset + head, end) };
}

/** The TLVs inside a constructed node, in order. */
export function children(node: Node): Node[] {
  const out: Node[] = [];
  for (let at = 0; at < node.content.length;) {
    const child = read(node.content, at);
    out.push(child);
    at += child.der.length;
  }
  return out;
}

/** Reads `buf` as exactly one TLV with tag `tag`, or throws naming `what`. */
export function expect(buf: Uint8Array, tag: number, what: string): Node {
  const node = read(buf);
  if (node.tag !== tag || node.der.length !== buf.length) {
    throw new TypeError(`DER: ${what} is not a single 0x${tag.toString(16)} element`);
  }
  return node;
}

/** Dotted text of an OBJECT IDENTIFIER node. */
export function oidText(node: Node): string {
  if (node.tag !== Tag.oid || node.content.length === 0) throw new TypeError("DER: not an OID");
  const subs: number[] = [];
  let v = 0;
  for (const b of node.content) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      subs.push(v);
      v = 0;
    }
  }
  const first = Math.min(2, Math.floor(subs[0] / 40));
  return [first, subs[0] - first * 40, ...subs.slice(1)].join(".");
}
