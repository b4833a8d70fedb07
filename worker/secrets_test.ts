import assert from "node:assert/strict";
import { NotFoundError } from "../proto/errors.ts";
import { encodeBase64, SecretRefsSchema } from "../proto/schema/mod.ts";
import { SecretCache } from "./secrets.ts";

const enc = new TextEncoder();

Deno.test("SecretCache.files: each reference's mode (default 0444), owner left to the runtime", () => {
  const cache = new SecretCache();
  cache.apply({
    complete: true,
    secrets: [
      { id: "s1", name: "db", data: encodeBase64(enc.encode("pw")) },
      { id: "s2", name: "tls", data: encodeBase64(enc.encode("key")) },
    ],
    removedSecretIds: [],
  });
  const refs = SecretRefsSchema.parse([
    { secret: "db" },
    { secret: "tls", target: "server.key", mode: 0o400 },
  ]);
  const files = cache.files(refs);
  assert.deepEqual(files, [
    { name: "db", data: enc.encode("pw"), mode: 0o444 },
    { name: "server.key", data: enc.encode("key"), mode: 0o400 },
  ]);
  // No uid/gid: the runtime gives the files to the container's effective user.
  assert.ok(files.every((f) => !("uid" in f) && !("gid" in f)));
  assert.throws(() => cache.files(SecretRefsSchema.parse([{ secret: "other" }])), NotFoundError);
});
