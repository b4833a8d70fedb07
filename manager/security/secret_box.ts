/**
 * Secrets at rest: envelope encryption.
 *
 *   random KEK stored on each manager (under autolock: wrapped by a key the ──┐ AES-KW
 *   user-held unlock key derives with HKDF, kek_file.ts)                       │
 *                                                                              v
 *   cluster DATA key (random AES-256, replicated only wrapped) --AES-256-GCM--> secret ciphertext
 *
 * The data key is random (never derived from a node ID or anything guessable) and appears in
 * replicated state only wrapped by the KEK, so a copy of the Raft log or a snapshot reveals
 * nothing without the KEK. Each ciphertext is bound (GCM additional data) to its key ID and to a
 * context string naming what it is ({@link secretAad}, {@link caKeyAad}): a ciphertext moved to
 * another secret fails to decrypt. The CA private key is sealed the same way.
 *
 * Nothing returned here holds plaintext except the results of decryptSecret / openCaKey.
 * @module
 */
import { NotFoundError, UnauthenticatedError, ValidationError } from "../../proto/errors.ts";
import type { EncryptedData } from "../../proto/schema/secret.ts";
import {
  cryptoRandom,
  fromBase32,
  fromBase64,
  type RandomBytes,
  randomBytes,
  sha256Hex,
  toBase32,
  toBase64,
  toHex,
} from "./_encoding.ts";

/** A cluster data-encryption key (AES-256-GCM) and its ID. */
export interface DataKey {
  keyId: string;
  /** Extractable only so it can be wrapped again under a new KEK. */
  key: CryptoKey;
}

/** A key-encryption key (AES-256-KW) and its fingerprint. */
export interface Kek {
  /** First 16 hex of SHA-256 over the raw key: tells keys apart, reveals nothing useful. */
  kekId: string;
  key: CryptoKey;
}

/** A data key wrapped by a KEK: safe to replicate and store. */
export interface WrappedKey {
  keyId: string;
  /** Fingerprint of the KEK that wrapped it. */
  kekId: string;
  /** AES-KW output, base64. */
  wrapped: string;
}

const UNLOCK_PREFIX = "WRNKEY-";
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const HKDF_SALT = new TextEncoder().encode("warren/kek/v1");
const HKDF_INFO = new TextEncoder().encode("warren autolock key-encryption key");

/** A fresh random data key with a random ID (`dk-<16 hex>`). */
export async function generateDataKey(rand: RandomBytes = cryptoRandom): Promise<DataKey> {
  const raw = randomBytes(KEY_BYTES, rand);
  const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", true, ["encrypt", "decrypt"]);
  raw.fill(0);
  return { keyId: `dk-${toHex(randomBytes(8, rand))}`, key };
}

const DIGEST_SALT = new TextEncoder().encode("warren/digest/v1");

/**
 * An HMAC-SHA256 key derived from `dataKey` with HKDF for `purpose` (its own key per purpose):
 * every holder of the data key derives the same one. Digests made with it may be replicated and
 * stored where a plain hash of low-entropy plaintext (a password) may not: without the data key
 * they cannot be checked against guesses.
 */
export async function deriveDigestKey(dataKey: DataKey, purpose: string): Promise<CryptoKey> {
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", dataKey.key));
  try {
    const base = await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey"]);
    return await crypto.subtle.deriveKey(
      {
        name: "HKDF",
        hash: "SHA-256",
        salt: DIGEST_SALT,
        info: new TextEncoder().encode(purpose),
      },
      base,
      { name: "HMAC", hash: "SHA-256", length: 256 },
      false,
      ["sign"],
    );
  } finally {
    raw.fill(0);
  }
}

/** HMAC-SHA256 of `data` under `key` (from {@link deriveDigestKey}), base64. */
export async function keyedDigest(key: CryptoKey, data: Uint8Array): Promise<string> {
  return toBase64(new Uint8Array(await crypto.subtle.sign("HMAC", key, new Uint8Array(data))));
}

/** Wraps `dataKey` under `kek` (AES-KW, RFC 3394). */
export async function wrapKey(dataKey: DataKey, kek: Kek): Promise<WrappedKey> {
  const wrapped = await crypto.subtle.wrapKey("raw", dataKey.key, kek.key, "AES-KW");
  return { keyId: dataKey.keyId, kekId: kek.kekId, wrapped: toBase64(new Uint8Array(wrapped)) };
}

/** Unwraps a data key; throws UnauthenticatedError when `kek` is not the key that wrapped it. */
export async function unwrapKey(wrapped: WrappedKey, kek: Kek): Promise<DataKey> {
  try {
    const key = await crypto.subtle.unwrapKey(
      "raw",
      fromBase64(wrapped.wrapped),
      kek.key,
      "AES-KW",
      "AES-GCM",
      true,
      ["encrypt", "decrypt"],
    );
    return { keyId: wrapped.keyId, key };
  } catch (err) {
    throw new UnauthenticatedError(
      `cannot unwrap data key ${wrapped.keyId}: it was wrapped by key ${wrapped.kekId}, ` +
        `not ${kek.kekId} (wrong unlock key?)`,
      { cause: err },
    );
  }
}

/** 32 random bytes for a stored KEK (written to each manager's disk when autolock is off). */
export function generateKekBytes(rand: RandomBytes = cryptoRandom): Uint8Array<ArrayBuffer> {
  return randomBytes(KEY_BYTES, rand);
}

/** Imports 32 raw bytes as an AES-256-KW KEK. */
export async function importKek(raw: Uint8Array<ArrayBuffer>): Promise<Kek> {
  if (raw.length !== KEY_BYTES) throw new ValidationError("kek", "must be 32 bytes");
  const key = await crypto.subtle.importKey("raw", raw, "AES-KW", false, ["wrapKey", "unwrapKey"]);
  return { kekId: (await sha256Hex(raw)).slice(0, 16), key };
}

/** A fresh unlock key for `--autolock`: `WRNKEY-` + 52 base32 characters (256 random bits). */
export function generateUnlockKey(rand: RandomBytes = cryptoRandom): string {
  return UNLOCK_PREFIX + toBase32(randomBytes(KEY_BYTES, rand));
}

/**
 * Derives the KEK from a user-held unlock key with HKDF-SHA256. The unlock key is 256 random bits,
 * so a slow password hash would add nothing; HKDF just separates the KEK from the key's text.
 * Throws ValidationError("unlockKey", ...) for a malformed key.
 */
export async function deriveKekFromUnlockKey(unlockKey: string): Promise<Kek> {
  const text = unlockKey.trim();
  const bytes = text.startsWith(UNLOCK_PREFIX)
    ? fromBase32(text.slice(UNLOCK_PREFIX.length))
    : undefined;
  if (!bytes || bytes.length !== KEY_BYTES || text.length !== UNLOCK_PREFIX.length + 52) {
    throw new ValidationError("unlockKey", `must be ${UNLOCK_PREFIX} followed by 52 base32 chars`);
  }
  const ikm = await crypto.subtle.importKey("raw", bytes, "HKDF", false, ["deriveBits"]);
  const raw = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: HKDF_SALT, info: HKDF_INFO },
      ikm,
      KEY_BYTES * 8,
    ),
  );
  bytes.fill(0);
  const kek = await importKek(raw);
  raw.fill(0);
  return kek;
}

/** The context a secret's ciphertext is bound to: its immutable ID and its name. */
export function secretAad(secret: { id: string; name: string }): string {
  return `secret/${secret.id}/${secret.name}`;
}

/** The context the CA private key's ciphertext is bound to. */
export function caKeyAad(clusterId: string): string {
  return `ca-key/${clusterId}`;
}

/** Options of {@link encryptSecret}. */
export interface EncryptOptions {
  dataKey: DataKey;
  /** What the ciphertext is, e.g. {@link secretAad}; the same string is needed to decrypt. */
  aad: string;
  rand?: RandomBytes;
}

/** Seals `plaintext` with AES-256-GCM under a fresh random 96-bit nonce. */
export async function encryptSecret(
  plaintext: Uint8Array<ArrayBuffer>,
  opts: EncryptOptions,
): Promise<EncryptedData> {
  const nonce = randomBytes(NONCE_BYTES, opts.rand ?? cryptoRandom);
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: additionalData(opts.dataKey.keyId, opts.aad) },
    opts.dataKey.key,
    plaintext,
  );
  return {
    ciphertext: toBase64(new Uint8Array(sealed)),
    nonce: toBase64(nonce),
    keyId: opts.dataKey.keyId,
  };
}

/** Options of {@link decryptSecret}. */
export interface DecryptOptions {
  /** The cluster's data keys (current and older ones); the one named by `keyId` is used. */
  dataKeys: DataKey | readonly DataKey[];
  /** The context given when encrypting. */
  aad: string;
}

/**
 * Opens a ciphertext. Throws NotFoundError when its data key is unknown and UnauthenticatedError
 * when it was tampered with, moved to another context, or sealed under another key.
 */
export async function decryptSecret(
  encrypted: EncryptedData,
  opts: DecryptOptions,
): Promise<Uint8Array> {
  const keys = Array.isArray(opts.dataKeys) ? opts.dataKeys : [opts.dataKeys as DataKey];
  const dataKey = keys.find((k) => k.keyId === encrypted.keyId);
  if (!dataKey) throw new NotFoundError("data key", encrypted.keyId);
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: fromBase64(encrypted.nonce),
          additionalData: additionalData(encrypted.keyId, opts.aad),
        },
        dataKey.key,
        fromBase64(encrypted.ciphertext),
      ),
    );
  } catch (err) {
    throw new UnauthenticatedError(
      `cannot decrypt ${opts.aad}: the ciphertext was altered, belongs to something else, ` +
        `or was sealed under another key`,
      { cause: err },
    );
  }
}

/** Options of {@link sealCaKey}. */
export interface SealCaKeyOptions {
  keyPem: string;
  dataKey: DataKey;
  clusterId: string;
  rand?: RandomBytes;
}

/** Encrypts the CA private key for replicated state (same data key as secrets). */
export async function sealCaKey(opts: SealCaKeyOptions): Promise<EncryptedData> {
  return await encryptSecret(new TextEncoder().encode(opts.keyPem), {
    dataKey: opts.dataKey,
    aad: caKeyAad(opts.clusterId),
    rand: opts.rand,
  });
}

/** Options of {@link openCaKey}. */
export interface OpenCaKeyOptions {
  encrypted: EncryptedData;
  dataKeys: DataKey | readonly DataKey[];
  clusterId: string;
}

/** Decrypts the CA private key sealed by {@link sealCaKey}; returns its PKCS#8 PEM. */
export async function openCaKey(opts: OpenCaKeyOptions): Promise<string> {
  const bytes = await decryptSecret(opts.encrypted, {
    dataKeys: opts.dataKeys,
    aad: caKeyAad(opts.clusterId),
  });
  return new TextDecoder().decode(bytes);
}

function additionalData(keyId: string, aad: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`warren/v1\0${keyId}\0${aad}`);
}
