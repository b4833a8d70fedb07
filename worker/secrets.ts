/**
 * Secret data for the tasks of this node, as the managers send it in assignment messages. Held
 * in memory only (never in the worker's local state); the runtime puts the files on a tmpfs
 * that goes away with the container, with the mode each reference asks for (default 0444) and
 * owned by the container's effective user (the task's or the image's, resolved by the runtime
 * against the image's /etc/passwd), so a non-root process can read them.
 * @module
 */
import type { SecretData, SecretRef } from "../proto/schema/mod.ts";
import { decodeBase64 } from "../proto/schema/mod.ts";
import { NotFoundError } from "../proto/errors.ts";
import type { SecretFile } from "../runtime/runtime.ts";

/** The secrets this node may use, by name. */
export class SecretCache {
  readonly #byId = new Map<string, { name: string; data: Uint8Array }>();

  /** Applies a message's secrets: `complete` replaces everything, else upserts and removals. */
  apply(msg: { complete: boolean; secrets: SecretData[]; removedSecretIds: string[] }): void {
    if (msg.complete) this.#byId.clear();
    for (const id of msg.removedSecretIds) this.#byId.delete(id);
    for (const s of msg.secrets) this.#byId.set(s.id, { name: s.name, data: decodeBase64(s.data) });
  }

  /** Number of secrets held. */
  get size(): number {
    return this.#byId.size;
  }

  /** Whether secret `name` is held. */
  has(name: string): boolean {
    return [...this.#byId.values()].some((s) => s.name === name);
  }

  /** The data of secret `name`. @throws NotFoundError when it was not sent to this node */
  data(name: string): Uint8Array {
    const s = [...this.#byId.values()].find((x) => x.name === name);
    if (!s) throw new NotFoundError("secret", name);
    return s.data;
  }

  /**
   * The files of a task's secret references, with each reference's mode. No owner is given:
   * the runtime makes them the container's user's.
   * @throws NotFoundError when one was not sent to this node
   */
  files(refs: readonly SecretRef[]): SecretFile[] {
    return refs.map((ref) => {
      const s = [...this.#byId.values()].find((x) => x.name === ref.secret);
      if (!s) throw new NotFoundError("secret", ref.secret);
      return { name: ref.target, data: s.data, mode: ref.mode };
    });
  }

  /** Forgets every secret. */
  clear(): void {
    this.#byId.clear();
  }
}
