/**
 * Client-side image pull (containerd 1.6 has no server-side pull):
 *
 * ```
 * registry ──GET manifest──▶ index? ──pick platform──▶ manifest ──▶ config
 *    │                                                       │
 *    └──GET blobs──▶ Content/Write (digest checked, GC labels)│
 *                                 │                          ▼
 *                 Snapshots/Prepare → Diff/Apply → Snapshots/Commit(chainID) per layer
 *                                 │
 *                          Images/Create (or Update)
 * ```
 *
 * Everything runs under one lease, so GC cannot take a half-pulled image; children are written
 * before the parents whose GC labels reference them. Concurrent pulls of the same reference (and
 * credentials) on the same client share one in-flight pull.
 */
import { type ContainerdClient, isContainerdCode } from "./client.ts";
import { hasBlob, setBlobLabels, writeBlob } from "./content.ts";
import { withLease } from "./lease.ts";
import {
  formatPlatform,
  hostPlatform,
  isIndexType,
  isManifestType,
  type OciDescriptor,
  type OciImageConfig,
  parseImageConfig,
  parseIndex,
  parseManifest,
  type Platform,
  platformMatches,
  selectManifest,
} from "./oci.ts";
import { parseReference } from "./reference.ts";
import { RegistryClient, type RegistryClientOptions } from "./registry.ts";
import { DEFAULT_SNAPSHOTTER, unpackLayers } from "./unpack.ts";
import { FailedPreconditionError, ValidationError } from "../../proto/errors.ts";
import { sha256Hex } from "./_digest.ts";

/** containerd GC label keys (see containerd docs/garbage-collection.md). */
export const GcLabel = {
  /** On a blob: references another blob; suffix makes keys unique (`m.0`, `config`, `l.3`). */
  contentRef: "containerd.io/gc.ref.content.",
  /** On an image config: references the top snapshot in the named snapshotter. */
  snapshotRef: "containerd.io/gc.ref.snapshot.",
  /** On a compressed layer blob: its uncompressed digest (diff ID). */
  uncompressed: "containerd.io/uncompressed",
} as const;

/** One progress event of a pull. */
export type PullProgress =
  | { phase: "resolved"; digest: string; mediaType: string }
  | { phase: "layer"; digest: string; bytesDone: number; bytesTotal: number; cached: boolean }
  | { phase: "unpacked"; index: number; layers: number; chainId: string; cached: boolean }
  | { phase: "done"; image: PulledImage };

/** Options of {@link pullImage}. */
export interface PullOptions extends RegistryClientOptions {
  /** Platform to pick from multi-arch images; the host's by default. */
  platform?: Platform;
  /** Snapshotter to unpack into; default `overlayfs`. */
  snapshotter?: string;
  /** Receives progress events (also for a pull joined while in flight). */
  onProgress?: (event: PullProgress) => void;
  /** Parallel layer downloads; default 3. */
  maxConcurrentDownloads?: number;
}

/** A pulled and unpacked image: what creating a container from it needs. */
export interface PulledImage {
  /** Image name in containerd, the canonical reference (e.g. `127.0.0.1:5000/warren/http:v1`). */
  name: string;
  /** Top-level descriptor: the index or manifest the reference resolved to. */
  target: OciDescriptor;
  /** Digest of the platform-specific manifest. */
  manifestDigest: string;
  /** Digest of the image config blob. */
  configDigest: string;
  /** Parsed image config (entrypoint, cmd, env, working dir, user, ...). */
  config: OciImageConfig;
  /** Chain ID of the top layer: the parent snapshot for container root filesystems. */
  chainId: string;
  /** Snapshotter the layers were unpacked into. */
  snapshotter: string;
  /** Platform of the manifest that was pulled. */
  platform: Platform;
  /** Sum of the compressed layer sizes. */
  sizeBytes: number;
}

interface InFlight {
  promise: Promise<PulledImage>;
  listeners: Set<(event: PullProgress) => void>;
}

const inFlight = new WeakMap<ContainerdClient, Map<string, InFlight>>();

/**
 * Pulls `ref` from its registry into containerd (content, snapshots, image record) and returns
 * the unpacked image. A second call for the same reference, platform, snapshotter and credentials
 * while the first is running joins it instead of pulling twice. Callers with other credentials
 * (or none) pull on their own: joining would fail a caller whose login the registry accepts
 * because another's was refused, or hand an image to a caller the registry would refuse.
 */
export function pullImage(
  client: ContainerdClient,
  ref: string,
  options: PullOptions = {},
): Promise<PulledImage> {
  const parsed = parseReference(ref);
  const platform = options.platform ?? hostPlatform();
  const snapshotter = options.snapshotter ?? DEFAULT_SNAPSHOTTER;
  const creds = options.credentials;
  // In memory only, like the options that carry them.
  const login = creds ? JSON.stringify([creds.username, creds.password]) : "";
  const key = `${parsed.name}|${formatPlatform(platform)}|${snapshotter}|${login}`;
  let pulls = inFlight.get(client);
  if (!pulls) inFlight.set(client, pulls = new Map());
  const running = pulls.get(key);
  if (running) {
    if (options.onProgress) running.listeners.add(options.onProgress);
    return running.promise;
  }
  const listeners = new Set<(event: PullProgress) => void>();
  if (options.onProgress) listeners.add(options.onProgress);
  const emit = (event: PullProgress) => {
    for (const l of listeners) {
      try {
        l(event);
      } catch { /* a broken progress listener must not break the pull */ }
    }
  };
  const map = pulls;
  const promise = doPull(client, ref, { ...options, platform, snapshotter }, emit)
    .finally(() => map.delete(key));
  map.set(key, { promise, listeners });
  return promise;
}

type Resolved = Required<Pick<PullOptions, "platform" | "snapshotter">> & PullOptions;

async function doPull(
  client: ContainerdClient,
  ref: string,
  options: Resolved,
  emit: (event: PullProgress) => void,
): Promise<PulledImage> {
  const { platform, snapshotter } = options;
  const parsed = parseReference(ref);
  const registry = new RegistryClient(parsed.registry, parsed.repository, options);

  const top = await registry.getManifest(parsed.digest ?? parsed.tag!);
  emit({ phase: "resolved", digest: top.digest, mediaType: top.mediaType });
  const target: OciDescriptor = { mediaType: top.mediaType, digest: top.digest, size: top.size };
  let manifestBytes = top.bytes;
  let manifestDesc = target;
  let index: { bytes: Uint8Array; childIndex: number } | undefined;
  if (isIndexType(top.mediaType)) {
    const idx = parseIndex(top.bytes, `index of ${parsed.name}`);
    manifestDesc = selectManifest(idx, platform, parsed.name);
    const child = await registry.getManifest(manifestDesc.digest);
    if (child.size !== manifestDesc.size) {
      throw new ValidationError(
        "image",
        `manifest ${child.digest} size differs from its index entry`,
      );
    }
    manifestBytes = child.bytes;
    index = { bytes: top.bytes, childIndex: idx.manifests.indexOf(manifestDesc) };
  } else if (!isManifestType(top.mediaType)) {
    throw new ValidationError(
      "image",
      `"${parsed.name}" has unsupported media type ${top.mediaType}`,
    );
  }
  const manifest = parseManifest(manifestBytes, `manifest of ${parsed.name}`);

  const configRes = await registry.getBlob(manifest.config.digest);
  const configBytes = new Uint8Array(await configRes.arrayBuffer());
  if (`sha256:${await sha256Hex(configBytes)}` !== manifest.config.digest) {
    throw new ValidationError(
      "image",
      `config ${manifest.config.digest} of ${parsed.name} is corrupted`,
    );
  }
  const config = parseImageConfig(configBytes, `config of ${parsed.name}`);
  const arch = { os: config.os, architecture: config.architecture, variant: config.variant };
  if (!platformMatches(arch, platform)) {
    throw new FailedPreconditionError(
      `image "${parsed.name}" is ${formatPlatform(arch)}, this node needs ${
        formatPlatform(platform)
      }`,
    );
  }
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new ValidationError(
      "image",
      `"${parsed.name}": ${manifest.layers.length} layers but ${diffIds.length} diff IDs`,
    );
  }

  return await withLease(client, async (lease) => {
    // Layers first (children before the parents that reference them).
    await forEachLimit(manifest.layers, options.maxConcurrentDownloads ?? 3, async (layer, i) => {
      const labels = { [GcLabel.uncompressed]: diffIds[i] };
      if (await hasBlob(client, layer.digest, { lease })) {
        await setBlobLabels(client, layer.digest, labels, { lease });
        emit({
          phase: "layer",
          digest: layer.digest,
          bytesDone: layer.size,
          bytesTotal: layer.size,
          cached: true,
        });
        return;
      }
      const res = await registry.getBlob(layer.digest);
      await writeBlob(client, {
        digest: layer.digest,
        size: layer.size,
        data: res.body ?? new Uint8Array(),
        labels,
        lease,
        onProgress: (bytesDone) =>
          emit({
            phase: "layer",
            digest: layer.digest,
            bytesDone,
            bytesTotal: layer.size,
            cached: false,
          }),
      });
    });
    const chainId = await unpackLayers(client, {
      layers: manifest.layers,
      diffIds,
      snapshotter,
      lease,
      onLayer: (i, chainId, applied) =>
        emit({ phase: "unpacked", index: i, layers: diffIds.length, chainId, cached: !applied }),
    });
    await putBlob(client, lease, manifest.config, configBytes, {
      [`${GcLabel.snapshotRef}${snapshotter}`]: chainId,
    });
    const manifestLabels: Record<string, string> = {
      [`${GcLabel.contentRef}config`]: manifest.config.digest,
    };
    manifest.layers.forEach((l, i) => manifestLabels[`${GcLabel.contentRef}l.${i}`] = l.digest);
    await putBlob(client, lease, manifestDesc, manifestBytes, manifestLabels);
    if (index) {
      await putBlob(client, lease, target, index.bytes, {
        [`${GcLabel.contentRef}m.${index.childIndex}`]: manifestDesc.digest,
      });
    }
    await putImage(client, parsed.name, target);
    const image: PulledImage = {
      name: parsed.name,
      target,
      manifestDigest: manifestDesc.digest,
      configDigest: manifest.config.digest,
      config,
      chainId,
      snapshotter,
      platform,
      sizeBytes: manifest.layers.reduce((s, l) => s + l.size, 0),
    };
    emit({ phase: "done", image });
    return image;
  });
}

/** Stores a small blob held in memory, or just adds the labels when it is there already. */
async function putBlob(
  client: ContainerdClient,
  lease: string,
  desc: OciDescriptor,
  bytes: Uint8Array,
  labels: Record<string, string>,
): Promise<void> {
  if (await hasBlob(client, desc.digest, { lease })) {
    await setBlobLabels(client, desc.digest, labels, { lease });
    return;
  }
  await writeBlob(client, { digest: desc.digest, size: desc.size, data: bytes, labels, lease });
}

/** Creates the image record, or points an existing one at the new target. */
async function putImage(
  client: ContainerdClient,
  name: string,
  target: OciDescriptor,
): Promise<void> {
  const image = {
    name,
    labels: {},
    target: {
      mediaType: target.mediaType,
      digest: target.digest,
      size: target.size,
      annotations: {},
    },
    createdAt: undefined,
    updatedAt: undefined,
  };
  try {
    await client.images.create({ image });
  } catch (err) {
    if (!isContainerdCode(err, "already_exists")) throw err;
    await client.images.update({ image, updateMask: ["target"] });
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; the first failure rejects. */
async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
