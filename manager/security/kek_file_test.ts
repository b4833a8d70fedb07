import assert from "node:assert/strict";
import { UnauthenticatedError, ValidationError } from "../../proto/errors.ts";
import { lockKek, parseKekFile, unlockKek } from "./kek_file.ts";
import { generateKekBytes, generateUnlockKey } from "./secret_box.ts";

Deno.test("kek file: plain is the 32 bytes; locked opens only with its unlock key", async () => {
  const kek = generateKekBytes();
  assert.deepEqual(parseKekFile(kek), { locked: false, kek });
  const key = generateUnlockKey();
  const bytes = await lockKek(kek, key);
  const text = new TextDecoder().decode(bytes);
  const file = parseKekFile(bytes);
  assert.ok(file.locked);
  // The raw KEK appears nowhere in the locked file (neither raw nor as base64).
  assert.ok(!text.includes(btoa(String.fromCharCode(...kek))));
  assert.deepEqual(await unlockKek(file, key), kek);
  assert.deepEqual(await unlockKek(file, `\n${key}  `), kek, "whitespace around the key is fine");
  await assert.rejects(unlockKek(file, generateUnlockKey()), UnauthenticatedError);
  await assert.rejects(
    unlockKek(file, "WRNKEY-nope"),
    (e) => e instanceof ValidationError && e.field === "unlockKey",
  );
});

Deno.test("kek file: anything else is refused, naming the file", () => {
  for (const bad of [new Uint8Array(31), new TextEncoder().encode('{"lockedKek":2}')]) {
    assert.throws(
      () => parseKekFile(bad),
      (e) => e instanceof ValidationError && e.field === "cluster.key",
    );
  }
});
