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

Deno.test("platformMatches: arm64 accepts no variant or v8 only", () => {
  const want = { os: "linux", architecture: "arm64" } as const;
  assert.equal(platformMatches({ os: "linux", architecture: "arm64" }, want), true);
  assert.equal(platformMatches({ os: "linux", architecture: "arm64", variant: "v9" }, want), false);
  assert.equal(platformMatches(undefined, want), false);
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
