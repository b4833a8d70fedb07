/** Converts a pulled image into the runtime-neutral {@link ImageInfo}. */
import type { ImageInfo } from "../runtime.ts";
import type { PulledImage } from "./pull.ts";

/** The {@link ImageInfo} of a pulled image. */
export function toImageInfo(image: PulledImage): ImageInfo {
  const c = image.config.config;
  return {
    ref: image.name,
    digest: image.target.digest,
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
