/**
 * Autolock (Docker Swarm's `--autolock`): managers keep the cluster key-encryption key on disk only
 * wrapped by an unlock key that people hold, so a copy of a manager's data directory opens
 * nothing, and a restarted manager stays locked (no certificates, secrets or join tokens) until
 * `warren cluster unlock`. The unlock key is replicated sealed under the data key, so every
 * running manager can rewrap its own file (manager/kek_file_keeper.ts).
 * @module
 */
import type { UnlockKey, UpdateAutolockRequest } from "../../proto/schema/mod.ts";
import { FailedPreconditionError } from "../../proto/errors.ts";
import { generateUnlockKey } from "../security/mod.ts";
import { type ApiContext, readBarrier, write } from "./context.ts";

/** Turns autolock on (keeping the key unless `rotate`) or off; returns the key when on. */
export async function updateAutolock(
  ctx: ApiContext,
  req: UpdateAutolockRequest,
): Promise<UnlockKey> {
  const keys = await ctx.keys();
  const s = await readBarrier(ctx, false);
  const sealed = s.cluster?.security?.unlockKey;
  if (!req.autolock) {
    if (req.rotate) throw new FailedPreconditionError("rotate needs autolock on");
    if (sealed) await write(ctx, { kind: "cluster.autolock", at: ctx.now() });
    await followed(ctx);
    return { autolock: false };
  }
  if (sealed && !req.rotate) return { autolock: true, unlockKey: await keys.openUnlockKey(sealed) };
  // Rotating is no way to turn autolock on (Swarm refuses it too): an admin who runs
  // `unlock-key --rotate` on a cluster with autolock off means to change a key, not to lock
  // every manager's next restart behind a key they never asked for.
  if (!sealed && req.rotate) {
    throw new FailedPreconditionError(
      "cannot rotate the unlock key: autolock is off (turn it on with " +
        "`warren cluster update --autolock true`)",
    );
  }
  const unlockKey = generateUnlockKey();
  try {
    await write(ctx, {
      kind: "cluster.autolock",
      at: ctx.now(),
      unlockKey: await keys.sealUnlockKey(unlockKey),
      replaces: sealed ?? null,
    });
  } catch (err) {
    // Someone else turned autolock on first: theirs is the key, and turning it on again (without
    // rotate) answers with it. A rotation that lost the race is refused: run it again.
    if (!(err instanceof FailedPreconditionError) || req.rotate || sealed) throw err;
    const now = (await readBarrier(ctx, false)).cluster?.security?.unlockKey;
    if (!now) throw err;
    await followed(ctx);
    return { autolock: true, unlockKey: await keys.openUnlockKey(now) };
  }
  await followed(ctx);
  return { autolock: true, unlockKey };
}

/**
 * Waits until this manager applied the change and rewrote its own key file, so the answer means
 * "done here"; other managers follow as they apply it.
 */
async function followed(ctx: ApiContext): Promise<void> {
  await readBarrier(ctx, false);
  await ctx.localKek?.sync();
}

/** The current unlock key; FailedPreconditionError when autolock is off. */
export async function getUnlockKey(ctx: ApiContext): Promise<UnlockKey> {
  const s = await readBarrier(ctx, false);
  const sealed = s.cluster?.security?.unlockKey;
  if (!sealed) {
    throw new FailedPreconditionError(
      "autolock is off: turn it on with `warren cluster update --autolock true`",
    );
  }
  return { autolock: true, unlockKey: await (await ctx.keys()).openUnlockKey(sealed) };
}

/** Unlocks this manager (not forwarded: each manager holds its own locked file). */
export async function unlockManager(ctx: ApiContext, unlockKey: string): Promise<void> {
  if (!ctx.localKek) throw new FailedPreconditionError("this manager has no key file to unlock");
  await ctx.localKek.unlock(unlockKey);
}
