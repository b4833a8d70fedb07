/**
 * Volume handlers: create, list, inspect, delete.
 * @module
 */
import type { Volume, VolumeCreateRequest } from "../../proto/schema/mod.ts";
import { NotFoundError } from "../../proto/errors.ts";
import { answerOnce, type ApiContext, readBarrier, resolve, write } from "./context.ts";
import { findNode } from "./nodes.ts";

/**
 * Creates a volume record (the worker creates the directory on first use). A volume bound to a
 * node (`nodeId`, its ID or unique host name) needs that node to exist: bound to a ghost, every
 * task mounting it would wait forever for a node that never comes.
 * @throws NotFoundError naming the node
 */
export function createVolume(ctx: ApiContext, req: VolumeCreateRequest): Promise<Volume> {
  return answerOnce(ctx, "volume.create", () => req, async (ctx) => {
    const nodeId = req.nodeId === undefined
      ? undefined
      : findNode(await readBarrier(ctx, false), req.nodeId).id;
    const at = ctx.now();
    return await write<Volume>(ctx, {
      kind: "volume.create",
      at,
      volume: { ...req, nodeId, id: ctx.newId(), createdAt: at, updatedAt: at },
    });
  });
}

/** Lists volumes by name. */
export async function listVolumes(
  ctx: ApiContext,
  stale: boolean,
): Promise<{ volumes: Volume[]; index: number }> {
  const s = await readBarrier(ctx, stale);
  const volumes = [...s.volumes.values()].sort((a, b) => a.name < b.name ? -1 : 1);
  return { volumes, index: ctx.store.index };
}

/** One volume by ID or name. */
export async function inspectVolume(
  ctx: ApiContext,
  idOrName: string,
  stale: boolean,
): Promise<Volume> {
  const s = await readBarrier(ctx, stale);
  return resolve(s.volumes, s.volumeIdByName, idOrName, "volume");
}

/**
 * Deletes a volume that no service mounts. `force` is Docker's `volume rm -f`: a volume that does
 * not exist (or is deleted meanwhile) is not an error; a volume in use is refused all the same
 * ("You can't remove a volume that's in use by a container"), because its data lives on one node
 * and a service mounting it would silently get an empty one elsewhere.
 */
export async function deleteVolume(
  ctx: ApiContext,
  idOrName: string,
  opts: { force?: boolean } = {},
): Promise<void> {
  const request = () => ({ id: idOrName, force: opts.force ?? false });
  await answerOnce(ctx, "volume.delete", request, async (ctx) => {
    try {
      const s = await readBarrier(ctx, false);
      const v = resolve(s.volumes, s.volumeIdByName, idOrName, "volume");
      await write(ctx, { kind: "volume.delete", at: ctx.now(), id: v.id });
    } catch (err) {
      if (opts.force && err instanceof NotFoundError) return;
      throw err;
    }
  }, () => {});
}
