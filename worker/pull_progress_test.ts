import assert from "node:assert/strict";
import { PullProgress } from "./pull_progress.ts";

Deno.test("pull progress: bytes summed over layers, then unpacking; other events are silent", () => {
  const p = new PullProgress("web:1");
  assert.equal(p.update({ kind: "resolved", digest: "sha256:x" }), undefined);
  const layer = (digest: string, bytesDone: number, bytesTotal: number) =>
    p.update({ kind: "layer", digest, bytesDone, bytesTotal, cached: false });
  assert.equal(layer("a", 500_000, 2_000_000), "pulling web:1: 0.5 of 2.0 MB");
  assert.equal(layer("b", 0, 10_000_000), "pulling web:1: 0.5 of 12.0 MB");
  assert.equal(layer("a", 2_000_000, 2_000_000), "pulling web:1: 2.0 of 12.0 MB");
  assert.equal(
    p.update({ kind: "unpacked", index: 0, layers: 2 }),
    "unpacking web:1: layer 1 of 2",
  );
  assert.equal(p.update({ kind: "done", digest: "sha256:x" }), undefined);
});
