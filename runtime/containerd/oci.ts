/**
 * The OCI image format as Warren reads it: descriptors, indexes (and Docker manifest lists),
 * manifests, image configs, media types and platform selection. Parsing validates with zod so a
 * malformed registry answer fails with a clear message instead of deep inside the pull.
 */
import { z } from "zod";
import { FailedPreconditionError, ValidationError } from "../../proto/errors.ts";

/** Media types Warren recognises. */
export const MediaType = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
} as const;

/** True for an OCI index or a Docker manifest list. */
export function isIndexType(mediaType: string): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerList;
}

/** True for an OCI or Docker v2 image manifest. */
export function isManifestType(mediaType: string): boolean {
  return mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest;
}

/** CPU architectures Warren nodes run on (OCI `architecture` values). */
export type Arch = "amd64" | "arm64";

/** An OCI platform: what a node can run. */
export interface Platform {
  os: "linux";
  architecture: Arch;
}

/** The platform of the machine this process runs on. */
export function hostPlatform(): Platform {
  switch (Deno.build.arch) {
    case "x86_64":
      return { os: "linux", architecture: "amd64" };
    case "aarch64":
      return { os: "linux", architecture: "arm64" };
  }
}

/** `linux/amd64`-style string of a platform. */
export function formatPlatform(p: { os: string; architecture: string; variant?: string }): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, "want sha256:<64 hex>");

const descriptorSchema = z.object({
  mediaType: z.string(),
  digest,
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: z.object({
    os: z.string(),
    architecture: z.string(),
    variant: z.string().optional(),
  }).optional(),
});
/** A content descriptor (media type, digest, size, optional platform). */
export type OciDescriptor = z.infer<typeof descriptorSchema>;

const indexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptorSchema),
});
/** An OCI image index or Docker manifest list. */
export type OciIndex = z.infer<typeof indexSchema>;

const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
});
/** An OCI or Docker v2 image manifest. */
export type OciManifest = z.infer<typeof manifestSchema>;

const imageConfigSchema = z.object({
  architecture: z.string(),
  os: z.string(),
  variant: z.string().optional(),
  config: z.object({
    User: z.string().optional(),
    Env: z.array(z.string()).nullish(),
    Entrypoint: z.array(z.string()).nullish(),
    Cmd: z.array(z.string()).nullish(),
    WorkingDir: z.string().optional(),
    ExposedPorts: z.record(z.string(), z.unknown()).nullish(),
    Labels: z.record(z.string(), z.string()).nullish(),
    StopSignal: z.string().optional(),
  }).optional(),
  rootfs: z.object({ type: z.literal("layers"), diff_ids: z.array(digest) }),
});
/** An OCI image configuration (the runtime defaults and the layers' uncompressed digests). */
export type OciImageConfig = z.infer<typeof imageConfigSchema>;

function parseJson<T>(schema: z.ZodType<T>, bytes: Uint8Array, what: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new ValidationError("image", `${what} is not valid JSON: ${err}`, { cause: err });
  }
  const res = schema.safeParse(raw);
  if (!res.success) {
    const issue = res.error.issues[0];
    throw new ValidationError(
      "image",
      `${what} is malformed at ${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
  }
  return res.data;
}

/** Parses and validates an index / manifest list. */
export function parseIndex(bytes: Uint8Array, what = "image index"): OciIndex {
  return parseJson(indexSchema, bytes, what);
}

/** Parses and validates an image manifest. */
export function parseManifest(bytes: Uint8Array, what = "image manifest"): OciManifest {
  const m = parseJson(manifestSchema, bytes, what);
  if (m.layers.length === 0) throw new ValidationError("image", `${what} has no layers`);
  return m;
}

/** Parses and validates an image config (runtime defaults and layer diff IDs). */
export function parseImageConfig(bytes: Uint8Array, what = "image config"): OciImageConfig {
  return parseJson(imageConfigSchema, bytes, what);
}

/**
 * How well an image built for `have` runs on a node of platform `want`: 0 is the node's own
 * platform, higher numbers are fallbacks, undefined means it does not run there. As Docker and
 * containerd choose:
 * - arm64 takes arm64 with no variant or `v8`; failing that the 32-bit `arm` builds (`v7`,
 *   then `v6`, then `v5`), which 64-bit ARM CPUs such as every Raspberry Pi's run (a CPU
 *   without 32-bit support then fails the start with an exec format error);
 * - amd64 prefers a build with no variant or `v1`/`v2` (every x86-64 CPU) over `v3`/`v4` ones,
 *   which need newer instruction sets (AVX2, AVX-512) that older and low-power CPUs lack.
 */
export function platformRank(
  have: OciDescriptor["platform"],
  want: Platform,
): number | undefined {
  if (!have || have.os !== want.os) return undefined;
  const v = have.variant;
  if (want.architecture === "arm64") {
    if (have.architecture === "arm64") return !v || v === "v8" ? 0 : undefined;
    if (have.architecture === "arm") {
      const fallback = ["v7", "v6", "v5"].indexOf(v ?? "v7");
      return fallback >= 0 ? 1 + fallback : undefined;
    }
    return undefined;
  }
  if (have.architecture !== want.architecture) return undefined;
  if (want.architecture === "amd64" && (v === "v3" || v === "v4")) return v === "v3" ? 1 : 2;
  return 0;
}

/** True when an image built for `have` runs on `want` at all (see {@link platformRank}). */
export function platformMatches(
  have: OciDescriptor["platform"],
  want: Platform,
): boolean {
  return platformRank(have, want) !== undefined;
}

/**
 * Picks the manifest for `platform` from an index: the best {@link platformRank}, and of equal
 * ones the first, as registries list them.
 * @throws FailedPreconditionError listing the platforms the image does have.
 */
export function selectManifest(index: OciIndex, platform: Platform, image: string): OciDescriptor {
  let match: OciDescriptor | undefined;
  let best = Infinity;
  for (const d of index.manifests) {
    if (!isManifestType(d.mediaType)) continue;
    const rank = platformRank(d.platform, platform);
    if (rank !== undefined && rank < best) [match, best] = [d, rank];
  }
  if (match) return match;
  const has = index.manifests.filter((d) => d.platform).map((d) => formatPlatform(d.platform!));
  throw new FailedPreconditionError(
    `image "${image}" has no ${formatPlatform(platform)} variant (it has: ${
      has.join(", ") || "none"
    })`,
  );
}
