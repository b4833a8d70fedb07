/**
 * The storage floor under a write: durable Deno KV commits one at a time, each as small as the
 * Raft log's (one ~1 KiB entry and a hard state), in a fresh database in `dir`. No create one
 * at a time can be acknowledged faster than its entry is committed to disk.
 * @module
 */
import { join } from "node:path";

/** Returns the milliseconds of each of `n` commits, after `warmup` unmeasured ones. */
export async function kvCommits(dir: string, n: number, warmup = 50): Promise<number[]> {
  const path = join(dir, `kv-floor-${crypto.randomUUID()}.sqlite3`);
  const kv = await Deno.openKv(path);
  const entry = new Uint8Array(1024).fill(1);
  const ms: number[] = [];
  try {
    for (let i = 0; i < warmup + n; i++) {
      const t0 = performance.now();
      const res = await kv.atomic()
        .set(["log", i], entry)
        .set(["hard"], { term: 1, vote: "m1", commit: i })
        .commit();
      if (!res.ok) throw new Error("kv floor: a commit with no checks failed");
      if (i >= warmup) ms.push(performance.now() - t0);
    }
    return ms;
  } finally {
    kv.close();
    for (const f of [path, `${path}-wal`, `${path}-shm`]) await Deno.remove(f).catch(() => {});
  }
}
