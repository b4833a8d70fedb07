import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { FailedPreconditionError } from "../../proto/errors.ts";
import { LOCK_FILE, lockDataDir } from "./data_dir_lock.ts";

Deno.test("data dir lock: a second daemon is refused, naming the first's PID; free again once released", async () => {
  const dir = join(await Deno.makeTempDir({ prefix: "warren-lock-" }), "node");
  try {
    const first = await lockDataDir(dir); // creates the directory
    await Deno.writeTextFile(join(dir, "warren.pid"), `${Deno.pid}\n`);
    await assert.rejects(
      lockDataDir(dir),
      (e) =>
        e instanceof FailedPreconditionError &&
        e.message ===
          `another warren daemon (pid ${Deno.pid}) runs on the data directory ${dir}: ` +
            "stop it first, or give this one its own --data-dir",
    );
    first.release();
    const second = await lockDataDir(dir);
    second.release();
    assert.ok((await Deno.stat(join(dir, LOCK_FILE))).isFile);
  } finally {
    await Deno.remove(dirname(dir), { recursive: true });
  }
});

Deno.test("data dir lock: held by another process, refused; free once that process is gone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-lock-" });
  try {
    // A process that takes the lock, says so, and holds it until its stdin closes.
    const holder = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const f = await Deno.open(${JSON.stringify(join(dir, LOCK_FILE))}, ` +
        `{ read: true, write: true, create: true }); ` +
        `console.log(await f.tryLock(true)); for await (const _ of Deno.stdin.readable) {}`,
      ],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const out = holder.stdout.getReader();
    assert.equal(new TextDecoder().decode((await out.read()).value).trim(), "true");
    await assert.rejects(lockDataDir(dir), FailedPreconditionError);
    await holder.stdin.close();
    await holder.status;
    out.releaseLock();
    await holder.stdout.cancel();
    (await lockDataDir(dir)).release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
