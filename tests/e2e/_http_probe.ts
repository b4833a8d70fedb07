/**
 * An HTTP client for the e2e tests, run inside a task's network namespace (see _task_shell.ts):
 * `deno run --allow-net _http_probe.ts URL COUNT [INTERVAL_MS]` makes COUNT sequential GETs,
 * each on a new connection, and prints one JSON line per request:
 * `{"i":0,"ok":true,"host":"web.2"}` or `{"i":1,"ok":false,"error":"...Connection refused..."}`.
 *
 * Why not busybox wget: Debian's busybox-static wget segfaults on every request (in a container
 * and on the host alike), and the test image has only busybox. Names resolve through glibc with
 * the namespace's /etc/resolv.conf (the node's resolver, `search warren`), as in a container.
 * @module
 */

/** One request's outcome, as printed. */
export interface ProbeResult {
  i: number;
  ok: boolean;
  /** The `host=` of the test HTTP image's page. */
  host?: string;
  error?: string;
}

/** Parses the probe's output (complete lines only). */
export function parseProbeOutput(text: string): ProbeResult[] {
  return text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

if (import.meta.main) {
  const [url, countText, intervalText] = Deno.args;
  const count = Number(countText ?? "1");
  const intervalMs = Number(intervalText ?? "0");
  // No pooling: every request opens a connection, so each one goes through the VIP's DNAT.
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  for (let i = 0; i < count; i++) {
    let r: ProbeResult;
    try {
      const res = await fetch(url!, { client, signal: AbortSignal.timeout(3_000) });
      const text = await res.text();
      const host = /host=(\S+)/.exec(text)?.[1];
      r = res.ok ? { i, ok: true, ...(host ? { host } : {}) } : { i, ok: false, error: text };
    } catch (err) {
      const e = err as Error & { cause?: Error };
      r = { i, ok: false, error: `${e.message}${e.cause ? `: ${e.cause.message}` : ""}` };
    }
    console.log(JSON.stringify(r));
    if (intervalMs > 0) await new Promise((res) => setTimeout(res, intervalMs));
  }
  client.close();
}
