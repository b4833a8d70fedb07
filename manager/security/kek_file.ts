/**
 * A manager's key-encryption key on disk (`<dataDir>/cluster.key`), plain or locked:
 *
 * - plain (autolock off): the 32 raw KEK bytes, file mode 0600;
 * - locked (autolock on): JSON `{"lockedKek":1,"unlockKekId":…,"wrapped":…}`, the KEK wrapped
 *   (AES-KW) by a key derived from the cluster's unlock key ({@link deriveKekFromUnlockKey}).
 *   A copy of the data directory then opens nothing without the unlock key, and a restarted
 *   manager stays locked until someone gives it the key (`warren cluster unlock`).
 * @module
 */
import { UnauthenticatedError, ValidationError } from "../../proto/errors.ts";
import { fromBase64, toBase64 } from "./_encoding.ts";
import { deriveKekFromUnlockKey } from "./secret_box.ts";

/** What cluster.key holds. */
export type KekFile =
  | { locked: false; kek: Uint8Array<ArrayBuffer> }
  | { locked: true; unlockKekId: string; wrapped: string };

const AES_KW = { name: "AES-KW" } as const;

/** Parses the bytes of cluster.key. Throws ValidationError("cluster.key") when it is neither form. */
export function parseKekFile(bytes: Uint8Array): KekFile {
  if (bytes.length === 32) return { locked: false, kek: new Uint8Array(bytes) };
  try {
    const j = JSON.parse(new TextDecoder().decode(bytes));
    if (j?.lockedKek === 1 && typeof j.unlockKekId === "string" && typeof j.wrapped === "string") {
      return { locked: true, unlockKekId: j.unlockKekId, wrapped: j.wrapped };
    }
  } catch { /* not JSON: reported below */ }
  throw new ValidationError("cluster.key", "is neither a 32-byte key nor a locked key file");
}

/** The bytes of a locked cluster.key: `kek` wrapped by the key derived from `unlockKey`. */
export async function lockKek(
  kek: Uint8Array<ArrayBuffer>,
  unlockKey: string,
): Promise<Uint8Array> {
  const wrapping = await deriveKekFromUnlockKey(unlockKey);
  const inner = await crypto.subtle.importKey("raw", kek, AES_KW, true, ["wrapKey"]);
  const wrapped = new Uint8Array(await crypto.subtle.wrapKey("raw", inner, wrapping.key, AES_KW));
  const file = { lockedKek: 1, unlockKekId: wrapping.kekId, wrapped: toBase64(wrapped) };
  return new TextEncoder().encode(JSON.stringify(file));
}

/**
 * The KEK of a locked file. Throws ValidationError("unlockKey") for a malformed key and
 * UnauthenticatedError when it is not the key the file was locked with.
 */
export async function unlockKek(
  file: Extract<KekFile, { locked: true }>,
  unlockKey: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const wrapping = await deriveKekFromUnlockKey(unlockKey);
  try {
    const inner = await crypto.subtle.unwrapKey(
      "raw",
      fromBase64(file.wrapped),
      wrapping.key,
      AES_KW,
      AES_KW,
      true,
      ["wrapKey"],
    );
    return new Uint8Array(await crypto.subtle.exportKey("raw", inner));
  } catch (err) {
    throw new UnauthenticatedError(
      "this is not the unlock key this manager was locked with " +
        "(a rotated key unlocks only managers that were running when it was set)",
      { cause: err },
    );
  }
}
