import assert from "node:assert/strict";
import { ctxWith, infoOf, node, request, service } from "../_harness_test_util.ts";
import { platformFilter } from "./platform.ts";

const web = service("web");
const ctx = ctxWith();

Deno.test("platform: an amd64-only image never lands on an arm64 node", () => {
  const amd = request(web, ["linux/amd64"]);
  assert.equal(platformFilter.check(infoOf(node("a")), amd, ctx), "ok");
  assert.deepEqual(platformFilter.check(infoOf(node("b", { arch: "arm64" })), amd, ctx), {
    reason: "is linux/arm64; the image supports linux/amd64",
  });
  const multi = request(web, ["linux/amd64", "linux/arm64/v8"]);
  assert.equal(platformFilter.check(infoOf(node("b", { arch: "arm64" })), multi, ctx), "ok");
  assert.equal(platformFilter.check(infoOf(node("b", { arch: "arm64" })), request(web), ctx), "ok");
  assert.equal(
    platformFilter.check(infoOf(node("b", { arch: "arm64" })), request(web, ["aarch64"]), ctx),
    "ok",
  );
  assert.deepEqual(
    platformFilter.check(infoOf(node("w", { os: "windows" })), amd, ctx),
    { reason: "is windows/amd64; the image supports linux/amd64" },
  );
});
