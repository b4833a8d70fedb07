/**
 * Private byte helpers for the security modules: hex, base32, base64, SHA-256 and a constant-time
 * comparison. Web APIs only, so the same code runs anywhere Deno does.
 * @module
 */

/** A source of random bytes: fills and returns the given array (like `crypto.getRandomValues`). */
export type RandomBytes = (bytes: Uint8Array) => Uint8Array;

/** The default randomness: the platform CSPRNG (which fills at most 64 KiB per call). */
export const cryptoRandom: RandomBytes = (bytes) => {
  for (let i = 0; i < bytes.length; i += 65_536) {
    crypto.getRandomValues(bytes.subarray(i, i + 65_536));
  }
  return bytes;
};

/** `n` fresh random bytes from `rand`. */
export function randomBytes(n: number, rand: RandomBytes = cryptoRandom): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  const filled = rand(out);
  // A caller-supplied source may return a new array instead of filling ours.
  if (filled !== out) out.set(filled.subarray(0, n));
  return out;
}

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Hex SHA-256 of `data` (a string is hashed as UTF-8). */
export async function sha256Hex(data: Uint8Array<ArrayBuffer> | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** RFC 4648 base32, lowercase, without padding (easy to read aloud and to paste). */
export function toBase32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const b of bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/** Decodes lowercase unpadded base32; returns undefined on any character outside the alphabet. */
export function fromBase32(text: string): Uint8Array<ArrayBuffer> | undefined {
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of text) {
    const v = BASE32.indexOf(ch);
    if (v < 0) return undefined;
    buffer = (buffer << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    buffer &= (1 << bits) - 1;
  }
  return new Uint8Array(out);
}

/** Standard base64 of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/** Decodes standard base64; throws on malformed input (callers turn that into a typed error). */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Compares two strings in time that depends only on their lengths, so a remote caller cannot learn
 * a stored hash byte by byte from response timing.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    diff |= (a.charCodeAt(i % (a.length || 1)) || 0) ^ (b.charCodeAt(i % (b.length || 1)) || 0);
  }
  return diff === 0;
}

/** {@link constantTimeEqual} for bytes: time depends on the lengths only. */
export function constantTimeEqualBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
