/** Converts a pulled image into the runtime-neutral {@link ImageInfo}. */
import type { ImageInfo, Platform } from "../runtime.ts";
import type { LocalImage } from "./images.ts";
import type { PulledImage } from "./pull.ts";

/** The {@link ImageInfo} of a pulled image. */
export function toImageInfo(image: PulledImage): ImageInfo {
  return imageInfo({ ...image, digest: image.target.digest });
}

/** The {@link ImageInfo} of an image found in the local store for `platform`. */
export function localImageInfo(image: LocalImage, platform: Platform): ImageInfo {
  return imageInfo({ ...image, platform });
}

function imageInfo(
  image: Pick<LocalImage, "name" | "digest" | "manifestDigest" | "config" | "sizeBytes"> & {
    platform: Platform;
  },
): ImageInfo {
  const c = image.config.config;
  return {
    ref: image.name,
    digest: image.digest,
    manifestDigest: image.manifestDigest,
    platform: image.platform,
    sizeBytes: image.sizeBytes,
    config: {
      entrypoint: c?.Entrypoint ?? [],
      cmd: c?.Cmd ?? [],
      env: c?.Env ?? [],
      workingDir: c?.WorkingDir || "/",
      user: c?.User ?? "",
      exposedPorts: Object.keys(c?.ExposedPorts ?? {}),
      labels: c?.Labels ?? {},
      ...(c?.StopSignal ? { stopSignal: c.StopSignal } : {}),
    },
  };
}
