/**
 * Looking up an image that is already in containerd (pulled earlier, maybe by a previous worker
 * process): image record → index/manifest → config → chain ID of the top layer. This is what
 * creating a container needs, without contacting the registry again.
 */
import { NotFoundError } from "../../proto/errors.ts";
import { type ContainerdClient, isContainerdCode } from "./client.ts";
import { readBlob } from "./content.ts";
import {
  isIndexType,
  type OciImageConfig,
  parseImageConfig,
  parseIndex,
  parseManifest,
  type Platform,
  selectManifest,
} from "./oci.ts";
import { DEFAULT_SNAPSHOTTER, snapshotExists } from "./unpack.ts";
import { chainIds } from "./_digest.ts";

/** An image as stored in containerd. */
export interface LocalImage {
  name: string;
  /** Digest the name points at (index or manifest). */
  digest: string;
  config: OciImageConfig;
  chainId: string;
  snapshotter: string;
}

/**
 * Resolves `name` (a canonical reference) for `platform`.
 * @throws NotFoundError when the image, or its unpacked layers for `snapshotter`, are missing.
 */
export async function resolveLocalImage(
  client: ContainerdClient,
  name: string,
  options: { platform: Platform; snapshotter?: string },
): Promise<LocalImage> {
  const snapshotter = options.snapshotter ?? DEFAULT_SNAPSHOTTER;
  let target;
  try {
    target = (await client.images.get({ name })).image?.target;
  } catch (err) {
    if (isContainerdCode(err, "not_found")) throw new NotFoundError("image", name, { cause: err });
    throw err;
  }
  if (!target) throw new NotFoundError("image", name);
  let manifestDigest = target.digest;
  if (isIndexType(target.mediaType)) {
    const index = parseIndex(await readBlob(client, target.digest), `index of ${name}`);
    manifestDigest = selectManifest(index, options.platform, name).digest;
  }
  const manifest = parseManifest(await readBlob(client, manifestDigest), `manifest of ${name}`);
  const config = parseImageConfig(
    await readBlob(client, manifest.config.digest),
    `config of ${name}`,
  );
  const chainId = (await chainIds(config.rootfs.diff_ids)).at(-1);
  if (!chainId || !(await snapshotExists(client, snapshotter, chainId))) {
    throw new NotFoundError("unpacked image", `${name} (${snapshotter})`);
  }
  return { name, digest: target.digest, config, chainId, snapshotter };
}
