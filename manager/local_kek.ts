/**
 * This manager's key-encryption key as it keeps it: the file `<dataDir>/cluster.key` (plain, or
 * locked under the cluster's unlock key: security/kek_file.ts) and, once read or unlocked, in
 * memory. With autolock on, a restarted manager is *locked*: it runs Raft and serves what needs no
 * keys, but signing certificates, sealing and opening secrets and join tokens fail with
 * FAILED_PRECONDITION until `warren cluster unlock` hands it the unlock key.
 * @module
 */
import { dirname } from "node:path";
import { FailedPreconditionError } from "../proto/errors.ts";
import { kekPath } from "./cluster_keys.ts";
import { deriveKekFromUnlockKey, lockKek, parseKekFile, unlockKek } from "./security/mod.ts";

/**
 * Message of the error every key operation of a locked manager fails with; it names the
 * manager's API address when known (a node joining through it gets this message, and must be
 * able to tell which manager to unlock).
 */
export function lockedMessage(apiAddress?: string): string {
  return "this manager is locked (autolock is on and it restarted): give it the unlock key " +
    `with \`warren cluster unlock --manager ${apiAddress ?? "<this manager's API address>"}\``;
}

/** See the module doc. */
export class LocalKek {
  readonly path: string;
  #raw: Uint8Array<ArrayBuffer> | undefined;
  /** Serializes file rewrites (autolock changes arrive as replicated commands). */
  #writing: Promise<void> = Promise.resolve();

  readonly #apiAddress: () => string | undefined;

  /** `apiAddress`: the manager's advertised API address, once it listens (for the message). */
  constructor(dataDir: string, apiAddress: () => string | undefined = () => undefined) {
    this.path = kekPath(dataDir);
    this.#apiAddress = apiAddress;
  }

  /** The KEK. Throws FailedPreconditionError when the file is missing, or locked and not unlocked. */
  async get(): Promise<Uint8Array<ArrayBuffer>> {
    if (this.#raw) return this.#raw;
    const file = parseKekFile(await this.#read());
    if (file.locked) throw new FailedPreconditionError(lockedMessage(this.#apiAddress()));
    return this.#raw = file.kek;
  }

  /** Whether the file is locked and no unlock key was given yet. */
  async locked(): Promise<boolean> {
    if (this.#raw) return false;
    return parseKekFile(await this.#read()).locked;
  }

  /**
   * Unlocks with the cluster's unlock key. Throws FailedPreconditionError when not locked,
   * ValidationError for a malformed key, UnauthenticatedError for the wrong one.
   */
  async unlock(unlockKey: string): Promise<void> {
    const file = parseKekFile(await this.#read());
    if (!file.locked || this.#raw) {
      throw new FailedPreconditionError("this manager is not locked");
    }
    this.#raw = await unlockKek(file, unlockKey);
  }

  /**
   * Writes `kek` to the file: locked under `unlockKey`, or plain without one. A no-op when the
   * file is already in that form (the same unlock key, or plain).
   */
  write(kek: Uint8Array<ArrayBuffer>, unlockKey?: string): Promise<void> {
    const next = this.#writing.then(async () => {
      const current = await this.#read().then(parseKekFile, () => undefined);
      if (unlockKey === undefined) {
        if (current && !current.locked) return;
        await this.#replace(kek);
      } else {
        const id = (await deriveKekFromUnlockKey(unlockKey)).kekId;
        if (current?.locked && current.unlockKekId === id) return;
        await this.#replace(await lockKek(kek, unlockKey));
      }
      this.#raw = kek;
    });
    this.#writing = next.catch(() => {});
    return next;
  }

  async #read(): Promise<Uint8Array> {
    try {
      return await Deno.readFile(this.path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new FailedPreconditionError(
          `${this.path} is missing: this manager cannot open the cluster's keys`,
        );
      }
      throw err;
    }
  }

  /**
   * Replaces the file atomically and durably, mode 0600: write a sibling and sync it, rename it
   * over, sync the directory. A crash leaves the old file or the new one, never an empty one
   * (losing this file loses the manager's access to the cluster's keys).
   */
  async #replace(bytes: Uint8Array): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
    try {
      for (let off = 0; off < bytes.length;) off += await f.write(bytes.subarray(off));
      await f.syncData();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, this.path);
    const dir = await Deno.open(dirname(this.path), { read: true });
    try {
      await dir.sync();
    } finally {
      dir.close();
    }
  }
}
