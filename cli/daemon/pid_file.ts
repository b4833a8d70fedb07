/**
 * The running daemon's PID in `<dataDir>/warren.pid`, so `warren cluster leave` on the same node
 * can stop it after the cluster let it go.
 * @module
 */
import { join } from "node:path";

/** Records this process as the node's daemon; returns a function removing the record. */
export async function writePidFile(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, "warren.pid");
  await Deno.writeTextFile(path, `${Deno.pid}\n`, { mode: 0o644 });
  return async () => {
    try {
      if ((await Deno.readTextFile(path)).trim() === String(Deno.pid)) await Deno.remove(path);
    } catch { /* gone */ }
  };
}

/** The daemon's PID, when one is recorded and alive. */
export async function runningDaemon(dataDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await Deno.readTextFile(join(dataDir, "warren.pid"))).trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    await Deno.stat(`/proc/${pid}`);
    return pid;
  } catch {
    return undefined;
  }
}
