/**
 * WireGuard keys: Curve25519 (X25519) pairs made with WebCrypto, in WireGuard's base64 form. The
 * node's private key is created once, kept in `<dataDir>/wireguard/private.key` (mode 0600, the
 * directory 0700) and never leaves the node: `wg set private-key` reads it from that file.
 * @module
 */
import { join } from "node:path";
import { ValidationError } from "../../proto/errors.ts";

/** A key pair in WireGuard's base64 encoding (32 bytes each). */
export interface KeyPair {
  privateKey: string;
  publicKey: string;
}

/** DER prefix of a PKCS#8 X25519 private key (RFC 8410); the 32 raw bytes follow. */
const PKCS8_X25519_PREFIX = Uint8Array.from([
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x04,
  0x22,
  0x04,
  0x20,
]);

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64Url(s: string): Uint8Array {
  const std = s.replaceAll("-", "+").replaceAll("_", "/");
  return Uint8Array.from(atob(std + "=".repeat((4 - std.length % 4) % 4)), (c) => c.charCodeAt(0));
}

function decodeKey(field: string, b64: string): Uint8Array {
  let raw: Uint8Array;
  try {
    raw = Uint8Array.from(atob(b64.trim()), (c) => c.charCodeAt(0));
  } catch (err) {
    throw new ValidationError(field, "is not base64", { cause: err });
  }
  if (raw.length !== 32) throw new ValidationError(field, `must be 32 bytes, got ${raw.length}`);
  return raw;
}

/** Clamps a Curve25519 scalar the way `wg genkey` does (the public key does not change). */
function clamp(raw: Uint8Array): Uint8Array {
  const k = raw.slice();
  k[0]! &= 248;
  k[31]! = (k[31]! & 127) | 64;
  return k;
}

/** The public key of a base64 WireGuard private key (what `wg pubkey` prints). */
export async function publicKeyOf(privateKey: string): Promise<string> {
  const raw = decodeKey("privateKey", privateKey);
  const der = new Uint8Array(PKCS8_X25519_PREFIX.length + 32);
  der.set(PKCS8_X25519_PREFIX);
  der.set(raw, PKCS8_X25519_PREFIX.length);
  const key = await crypto.subtle.importKey("pkcs8", der, { name: "X25519" }, true, [
    "deriveBits",
  ]);
  const jwk = await crypto.subtle.exportKey("jwk", key);
  return toBase64(fromBase64Url(jwk.x!));
}

/** A fresh key pair (what `wg genkey | wg pubkey` gives). */
export async function generateKeyPair(): Promise<KeyPair> {
  const pair = await crypto.subtle.generateKey({ name: "X25519" }, true, [
    "deriveBits",
  ]) as CryptoKeyPair;
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const privateKey = toBase64(clamp(fromBase64Url(jwk.d!)));
  return { privateKey, publicKey: toBase64(fromBase64Url(jwk.x!)) };
}

/** Where a node keeps its WireGuard files. */
export function wireguardDir(dataDir: string): string {
  return join(dataDir, "wireguard");
}

/** The node's key: its file (for `wg set private-key`) and its public half. */
export interface NodeKey {
  privateKeyPath: string;
  publicKey: string;
}

/**
 * Loads the node's private key from `<dataDir>/wireguard/private.key`, creating it (0600) on first
 * use. Idempotent: a node keeps its key across restarts, so peers need no update.
 */
export async function loadOrCreateNodeKey(dataDir: string): Promise<NodeKey> {
  const dir = wireguardDir(dataDir);
  const privateKeyPath = join(dir, "private.key");
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  let privateKey: string;
  try {
    privateKey = (await Deno.readTextFile(privateKeyPath)).trim();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    privateKey = (await generateKeyPair()).privateKey;
    // createNew: two processes racing on one data dir cannot both write a key.
    await Deno.writeTextFile(privateKeyPath, privateKey + "\n", { mode: 0o600, createNew: true });
  }
  // A key file someone loosened (copied, restored) is tightened again.
  await Deno.chmod(privateKeyPath, 0o600);
  return { privateKeyPath, publicKey: await publicKeyOf(privateKey) };
}
