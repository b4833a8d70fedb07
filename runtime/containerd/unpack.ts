/**
 * Unpacking an image's layers into snapshots: for each layer, Snapshots/Prepare on top of the
 * previous layer's chain ID, Diff/Apply of the (compressed) layer blob from the content store,
 * then Snapshots/Commit under the layer's chain ID. Layers already unpacked (by this or another
 * image sharing the base) are skipped, so images share their common stacks.
 */
import { ValidationError } from "../../proto/errors.ts";
import { type ContainerdClient, isContainerdCode } from "./client.ts";
import type { OciDescriptor } from "./oci.ts";
import { chainIds } from "./_digest.ts";

/** Default snapshotter on Linux. */
export const DEFAULT_SNAPSHOTTER = "overlayfs";

/** What {@link unpackLayers} needs. */
export interface UnpackInput {
  /** Layer descriptors from the manifest, base first; their blobs must be in the content store. */
  layers: readonly OciDescriptor[];
  /** Uncompressed layer digests from the image config, same order. */
  diffIds: readonly string[];
  /** Snapshotter to unpack into; default {@link DEFAULT_SNAPSHOTTER}. */
  snapshotter?: string;
  /** Lease that holds the new snapshots until the image's config references the top one. */
  lease: string;
  /** Called after each layer, with whether it had to be applied or already existed. */
  onLayer?: (index: number, chainId: string, applied: boolean) => void;
}

/** True when the snapshotter has a snapshot (committed or active) named `key`. */
export async function snapshotExists(
  client: ContainerdClient,
  snapshotter: string,
  key: string,
): Promise<boolean> {
  try {
    await client.snapshots.stat({ snapshotter, key });
    return true;
  } catch (err) {
    if (isContainerdCode(err, "not_found")) return false;
    throw err;
  }
}

/**
 * Unpacks the layers and returns the chain ID of the top layer: the snapshot to use as parent of
 * container root filesystems.
 */
export async function unpackLayers(client: ContainerdClient, input: UnpackInput): Promise<string> {
  const snapshotter = input.snapshotter ?? DEFAULT_SNAPSHOTTER;
  if (input.layers.length !== input.diffIds.length) {
    throw new ValidationError(
      "image",
      `manifest has ${input.layers.length} layers but config lists ${input.diffIds.length} diff IDs`,
    );
  }
  const chains = await chainIds(input.diffIds);
  const call = { lease: input.lease };
  for (let i = 0; i < chains.length; i++) {
    const chainId = chains[i];
    if (await snapshotExists(client, snapshotter, chainId)) {
      input.onLayer?.(i, chainId, false);
      continue;
    }
    const key = `warren-extract-${crypto.randomUUID()}-${chainId}`;
    const { mounts } = await client.snapshots.prepare({
      snapshotter,
      key,
      parent: i === 0 ? "" : chains[i - 1],
      labels: {},
    }, call);
    let done = false;
    try {
      const layer = input.layers[i];
      const { applied } = await client.diff.apply({
        diff: {
          mediaType: layer.mediaType,
          digest: layer.digest,
          size: layer.size,
          annotations: {},
        },
        mounts,
        payloads: {},
      }, call);
      if (applied?.digest !== input.diffIds[i]) {
        throw new ValidationError(
          "image",
          `layer ${layer.digest} unpacked to ${applied?.digest}, config says ${input.diffIds[i]}`,
        );
      }
      try {
        await client.snapshots.commit({ snapshotter, name: chainId, key, labels: {} }, call);
        done = true;
      } catch (err) {
        // A concurrent pull of an image sharing this layer committed it first: use theirs.
        if (!isContainerdCode(err, "already_exists")) throw err;
      }
    } finally {
      if (!done) await client.snapshots.remove({ snapshotter, key }, call).catch(() => {});
    }
    input.onLayer?.(i, chainId, true);
  }
  return chains[chains.length - 1];
}
