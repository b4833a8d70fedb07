import assert from "node:assert/strict";
import { FailedPreconditionError, ValidationError } from "../../proto/errors.ts";
import {
  MediaType,
  type OciIndex,
  parseImageConfig,
  parseIndex,
  parseManifest,
  platformMatches,
  selectManifest,
} from "./oci.ts";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const dig = (c: string) => "sha256:" + c.repeat(64);

const index: OciIndex = {
  schemaVersion: 2,
  mediaType: MediaType.ociIndex,
  manifests: [
    {
      mediaType: MediaType.ociManifest,
      digest: dig("1"),
      size: 10,
      platform: { os: "linux", architecture: "arm", variant: "v7" },
    },
    {
      mediaType: MediaType.ociManifest,
      digest: dig("2"),
      size: 10,
      platform: { os: "linux", architecture: "arm64", variant: "v8" },
    },
    {
      mediaType: MediaType.ociManifest,
      digest: dig("3"),
      size: 10,
      platform: { os: "linux", architecture: "amd64" },
    },
    {
      mediaType: MediaType.ociManifest,
      digest: dig("4"),
      size: 10,
      platform: { os: "windows", architecture: "amd64" },
    },
  ],
};

Deno.test("selectManifest: picks the node's platform from an index", () => {
  assert.equal(
    selectManifest(index, { os: "linux", architecture: "amd64" }, "img").digest,
    dig("3"),
  );
  assert.equal(
    selectManifest(index, { os: "linux", architecture: "arm64" }, "img").digest,
    dig("2"),
  );
});

Deno.test("selectManifest: explains which platforms exist when none fits", () => {
  const amd64Only: OciIndex = { ...index, manifests: [index.manifests[2]] };
  assert.throws(
    () => selectManifest(amd64Only, { os: "linux", architecture: "arm64" }, "reg/img:v1"),
    (err) =>
      err instanceof FailedPreconditionError &&
      err.message === 'image "reg/img:v1" has no linux/arm64 variant (it has: linux/amd64)',
  );
});

Deno.test("platformMatches: arm64 accepts no variant or v8, and 32-bit arm as a fallback", () => {
  const want = { os: "linux", architecture: "arm64" } as const;
  assert.equal(platformMatches({ os: "linux", architecture: "arm64" }, want), true);
  assert.equal(platformMatches({ os: "linux", architecture: "arm64", variant: "v9" }, want), false);
  assert.equal(platformMatches({ os: "linux", architecture: "arm", variant: "v7" }, want), true);
  assert.equal(platformMatches({ os: "linux", architecture: "arm", variant: "v8" }, want), false);
  assert.equal(platformMatches({ os: "linux", architecture: "amd64" }, want), false);
  assert.equal(platformMatches(undefined, want), false);
});

Deno.test("selectManifest: the node's own build first, then the fallbacks Docker would run", () => {
  const entry = (n: string, architecture: string, variant?: string) => ({
    mediaType: MediaType.ociManifest,
    digest: dig(n),
    size: 10,
    platform: { os: "linux", architecture, ...(variant ? { variant } : {}) },
  });
  const arm64 = { os: "linux", architecture: "arm64" } as const;
  const amd64 = { os: "linux", architecture: "amd64" } as const;
  // A Raspberry Pi on 64-bit OS runs an image built for 32-bit ARM only, v7 before v6.
  const armOnly: OciIndex = {
    ...index,
    manifests: [entry("5", "arm", "v6"), entry("6", "arm", "v7")],
  };
  assert.equal(selectManifest(armOnly, arm64, "img").digest, dig("6"));
  const both: OciIndex = {
    ...index,
    manifests: [entry("6", "arm", "v7"), entry("7", "arm64", "v8")],
  };
  assert.equal(selectManifest(both, arm64, "img").digest, dig("7"));
  // x86-64-v3 builds listed first are not picked over the baseline one an older CPU runs.
  const levels: OciIndex = {
    ...index,
    manifests: [entry("8", "amd64", "v3"), entry("9", "amd64"), entry("a", "amd64", "v2")],
  };
  assert.equal(selectManifest(levels, amd64, "img").digest, dig("9"));
  const v3Only: OciIndex = { ...index, manifests: [entry("8", "amd64", "v3")] };
  assert.equal(selectManifest(v3Only, amd64, "img").digest, dig("8"));
});

Deno.test("parse*: valid documents round-trip, malformed ones name the bad field", () => {
  assert.equal(parseIndex(enc(index)).manifests.length, 4);
  const manifest = {
    schemaVersion: 2,
    config: { mediaType: MediaType.ociConfig, digest: dig("a"), size: 5 },
    layers: [{
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: dig("b"),
      size: 9,
    }],
  };
  assert.equal(parseManifest(enc(manifest)).layers[0].digest, dig("b"));
  assert.throws(() => parseManifest(enc({ ...manifest, layers: [] })), ValidationError);
  assert.throws(
    () => parseManifest(enc({ ...manifest, config: { ...manifest.config, digest: "md5:x" } })),
    (err) => err instanceof ValidationError && err.message.includes("config.digest"),
  );
  assert.throws(() => parseIndex(new TextEncoder().encode("{not json")), ValidationError);
  const config = parseImageConfig(enc({
    architecture: "amd64",
    os: "linux",
    config: { Env: null, Cmd: ["sh"] },
    rootfs: { type: "layers", diff_ids: [dig("c")] },
  }));
  assert.deepEqual(config.config?.Cmd, ["sh"]);
});
