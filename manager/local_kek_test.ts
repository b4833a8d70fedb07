import assert from "node:assert/strict";
import { FailedPreconditionError, UnauthenticatedError } from "../proto/errors.ts";
import { LocalKek } from "./local_kek.ts";
import { generateKekBytes, generateUnlockKey, parseKekFile } from "./security/mod.ts";

Deno.test("local kek: locked after a restart until unlocked; rewrites follow the setting", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-kek-" });
  try {
    const kek = generateKekBytes();
    const key = generateUnlockKey();
    const running = new LocalKek(dir);
    await assert.rejects(running.get(), /cluster\.key is missing/);
    await running.write(kek);
    assert.equal((await Deno.stat(running.path)).mode! & 0o777, 0o600);
    assert.deepEqual(await running.get(), kek);
    await running.write(kek, key); // autolock on: the running manager stays usable
    assert.ok(parseKekFile(await Deno.readFile(running.path)).locked);
    assert.equal(await running.locked(), false);
    assert.deepEqual(await running.get(), kek);

    const api: { address?: string } = {};
    const restarted = new LocalKek(dir, () => api.address);
    assert.equal(await restarted.locked(), true);
    await assert.rejects(
      restarted.get(),
      (e) => e instanceof FailedPreconditionError && /locked/.test(e.message),
    );
    // Once its API listens, the message says which manager to unlock.
    api.address = "10.0.0.5:4242";
    await assert.rejects(
      restarted.get(),
      (e) =>
        e instanceof Error &&
        e.message.endsWith("`warren cluster unlock --manager 10.0.0.5:4242`"),
    );
    await assert.rejects(restarted.unlock(generateUnlockKey()), UnauthenticatedError);
    await restarted.unlock(key);
    assert.deepEqual(await restarted.get(), kek);
    await assert.rejects(restarted.unlock(key), /not locked/);

    // Same form again: the file is not rewritten; off: plain again.
    const before = await Deno.readFile(restarted.path);
    await restarted.write(kek, key);
    assert.deepEqual(await Deno.readFile(restarted.path), before);
    await restarted.write(kek);
    assert.deepEqual(await Deno.readFile(restarted.path), kek);
    assert.equal(await new LocalKek(dir).locked(), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
