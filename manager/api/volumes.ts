/**
 * Volume handlers: create, list, inspect, delete.
 * @module
 */
import type { Volume, VolumeCreateRequest } from "../../proto/schema/mod.ts";
import { type ApiContext, readBarrier, resolve, write } from "./context.ts";

/** Creates a volume record (the worker creates the directory on first use). */
export function createVolume(ctx: ApiContext, req: VolumeCreateRequest): Promise<Volume> {
  const at = ctx.now();
  return write<Volume>(ctx, {
    kind: "volume.create",
    at,
    volume: { ...req, id: ctx.newId(), createdAt: at, updatedAt: at },
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

/** Deletes a volume that no service mounts. */
export async function deleteVolume(ctx: ApiContext, idOrName: string): Promise<void> {
  const s = await readBarrier(ctx, false);
  const v = resolve(s.volumes, s.volumeIdByName, idOrName, "volume");
  await write(ctx, { kind: "volume.delete", at: ctx.now(), id: v.id });
}
