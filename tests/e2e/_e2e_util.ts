/** Small helpers shared by the e2e tests. */

/** Calls `fn` every 100 ms until it returns a value; throws with `what` at the deadline. */
export async function pollUntil<T>(
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms`, { cause: lastErr });
}

/**
 * Whether the daemon starts the WireGuard mesh (cli/daemon calls startNodeMesh). Until the
 * wiring lands, the mesh steps are reported as ignored instead of failing the formation test.
 */
export async function meshWired(): Promise<boolean> {
  const dir = new URL("../../cli/daemon/", import.meta.url);
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".ts")) continue;
    if ((await Deno.readTextFile(new URL(e.name, dir))).includes("startNodeMesh(")) return true;
  }
  return false;
}
