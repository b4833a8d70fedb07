/**
 * Looking up an image that is already in containerd (pulled earlier, maybe by a previous worker
 * process): image record → index/manifest → config → chain ID of the top layer. This is what
 * creating a container needs, without contacting the registry again.
 *
 * Everything after the image record is content-addressed, so what it resolves to is remembered
 * per target digest ({@link LocalImageCache}): starting the next container of the same image
 * costs one Images/Get instead of four content reads and a snapshot stat.
 */
import { NotFoundError } from "../../proto/errors.ts";
import { type ContainerdClient, isContainerdCode } from "./client.ts";
import { readBlob } from "./content.ts";
import {
  formatPlatform,
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
  /** Digest of the platform-specific manifest. */
  manifestDigest: string;
  config: OciImageConfig;
  chainId: string;
  snapshotter: string;
  /** Sum of the compressed layer sizes. */
  sizeBytes: number;
}

type Resolved = Omit<LocalImage, "name">;

/**
 * What image targets resolved to, per target digest, platform and snapshotter. Entries never go
 * stale (the key is a content digest); the oldest are dropped beyond `max`.
 */
export class LocalImageCache {
  readonly #max: number;
  readonly #entries = new Map<string, Resolved>();

  constructor(max = 64) {
    this.#max = max;
  }

  /** Number of entries (tests). */
  get size(): number {
    return this.#entries.size;
  }

  get(key: string): Resolved | undefined {
    return this.#entries.get(key);
  }

  set(key: string, value: Resolved): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    while (this.#entries.size > this.#max) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  /** Forgets what `digest` resolved to (its snapshot turned out to be gone). */
  forget(digest: string): void {
    for (const k of [...this.#entries.keys()]) {
      if (k.startsWith(`${digest}|`)) this.#entries.delete(k);
    }
  }
}

/**
 * Resolves `name` (a canonical reference) for `platform`.
 * @throws NotFoundError when the image, or its unpacked layers for `snapshotter`, are missing.
 */
export async function resolveLocalImage(
  client: ContainerdClient,
  name: string,
  options: { platform: Platform; snapshotter?: string; cache?: LocalImageCache },
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
  const key = `${target.digest}|${formatPlatform(options.platform)}|${snapshotter}`;
  const cached = options.cache?.get(key);
  if (cached) return { name, ...cached };
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
  const resolved: Resolved = {
    digest: target.digest,
    manifestDigest,
    config,
    chainId,
    snapshotter,
    sizeBytes: manifest.layers.reduce((s, l) => s + l.size, 0),
  };
  options.cache?.set(key, resolved);
  return { name, ...resolved };
}
