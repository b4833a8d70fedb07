/**
 * Keeps this manager's `cluster.key` in the form the replicated autolock setting asks for: locked
 * under the cluster's unlock key while autolock is on (rewrapped when the key rotates), plain when
 * it is off. Runs when the cluster record changes (a command or a snapshot), at start, and after
 * an unlock (a manager that was down while the key rotated unlocks with the old key and is then
 * rewrapped with the new one).
 * @module
 */
import type { Logger } from "../proto/log.ts";
import type { ClusterKeys } from "./cluster_keys.ts";
import type { LocalKek } from "./local_kek.ts";
import type { Store } from "./state/store.ts";

/** Options of {@link keepKekFile}. */
export interface KekFileKeeperOptions {
  store: Store;
  keys: () => Promise<ClusterKeys>;
  kek: LocalKek;
  log: Logger;
}

/** Starts keeping the file; returns `sync` (run once more) and `stop`. */
export function keepKekFile(
  o: KekFileKeeperOptions,
): { sync: () => Promise<void>; stop: () => void } {
  let queue = Promise.resolve();
  const sync = () => {
    const next = queue.then(async () => {
      const security = o.store.state.cluster?.security;
      // Not caught up with the keys yet, or locked: nothing it could write.
      if (!security || await o.kek.locked()) return;
      const k = await o.keys();
      const unlockKey = security.unlockKey ? await k.openUnlockKey(security.unlockKey) : undefined;
      await o.kek.write(k.kekRaw, unlockKey);
    }).catch((err) => o.log.warn("cannot put cluster.key in its autolock form", { err }));
    queue = next;
    return next;
  };
  const stop = o.store.onClusterChange(() => void sync());
  void sync();
  return { sync, stop };
}
