/**
 * One daemon per data directory, as dockerd refuses a second instance on its data root. Two
 * daemons on one data directory would run one node identity twice: the same Raft member voting
 * and appending from two processes over one log (Deno KV lets several processes open it), or one
 * worker's tasks adopted twice.
 *
 * The daemon holds `<dataDir>/warren.lock` locked (flock, exclusive) for as long as it runs. The
 * kernel drops the lock when the process ends, however it ends, so a crashed daemon never blocks
 * the next one, and a stale `warren.pid` (a PID since reused) cannot fool the check.
 * @module
 */
import { join } from "node:path";
import { FailedPreconditionError } from "../../proto/errors.ts";
import { runningDaemon } from "./pid_file.ts";

/** The lock file's name in a data directory; it stays there (only the lock on it matters). */
export const LOCK_FILE = "warren.lock";

/** A data directory this process holds; `release` (or disposal) lets another daemon have it. */
export interface DataDirLock extends Disposable {
  release(): void;
}

/**
 * Locks `dataDir` (created if missing) for this process's daemon.
 * @throws FailedPreconditionError when another process holds it, naming its PID when recorded
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = await Deno.open(join(dataDir, LOCK_FILE), {
    read: true,
    write: true,
    create: true,
    mode: 0o600,
  });
  let held = false;
  try {
    held = await file.tryLock(true);
  } finally {
    if (!held) file.close();
  }
  if (!held) {
    const pid = await runningDaemon(dataDir);
    throw new FailedPreconditionError(
      `another warren daemon${pid ? ` (pid ${pid})` : ""} runs on the data directory ${dataDir}: ` +
        "stop it first, or give this one its own --data-dir",
    );
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    file.close(); // closing the file drops the lock
  };
  return { release, [Symbol.dispose]: release };
}
