/**
 * Small helpers over entry arrays shared by the log and storages.
 * @module
 */
import { type Entry, entrySizeBytes } from "./types.ts";

/**
 * Returns the longest prefix of `ents` whose total size is within `maxSizeBytes`, but always at
 * least one entry. Returns `ents` itself (no copy) when everything fits.
 */
export function limitSize(ents: Entry[], maxSizeBytes: number): Entry[] {
  if (ents.length <= 1) return ents;
  let size = entrySizeBytes(ents[0]);
  for (let i = 1; i < ents.length; i++) {
    size += entrySizeBytes(ents[i]);
    if (size > maxSizeBytes) return ents.slice(0, i);
  }
  return ents;
}

/** Sum of the sizes of `ents`. */
export function entriesSizeBytes(ents: readonly Entry[]): number {
  let size = 0;
  for (const e of ents) size += entrySizeBytes(e);
  return size;
}
