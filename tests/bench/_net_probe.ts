/**
 * The traffic ends of the `net` benchmark, run as a script inside a host or a task's network
 * namespace (`ip netns exec <ns> deno run -A _net_probe.ts <mode> ...`); results are one JSON
 * line on stdout.
 *
 * - `recv PORT`: accepts one connection, prints `{"bytes","seconds"}` (first byte to EOF);
 *   prints `listening` first.
 * - `send HOST PORT SECONDS`: streams zeros to HOST:PORT.
 * - `serve NAME PORT`: answers every connection with `NAME\n` and closes it; prints `listening`.
 * - `connect HOST PORT COUNT`: COUNT new TCP connections one after another (after 20 warm-up
 *   ones), each timed from connect() to established, and reads the peer's name; prints
 *   `{"ms":[...],"by":{"name":n}}`.
 * - `dns SERVER NAME COUNT`: sequential UDP A lookups through net/dns `measureDnsLookupMs`.
 * @module
 */
import { measureDnsLookupMs } from "../../net/dns/query.ts";

const encoder = new TextEncoder();

async function receive(port: number): Promise<void> {
  const listener = Deno.listen({ hostname: "0.0.0.0", port });
  console.log("listening");
  const conn = await listener.accept();
  listener.close();
  const buf = new Uint8Array(256 * 1024);
  let bytes = 0;
  let first = 0;
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    if (bytes === 0) first = performance.now();
    bytes += n;
  }
  const seconds = (performance.now() - first) / 1000;
  conn.close();
  console.log(JSON.stringify({ bytes, seconds }));
}

async function send(host: string, port: number, seconds: number): Promise<void> {
  const conn = await Deno.connect({ hostname: host, port });
  const chunk = new Uint8Array(128 * 1024);
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    let off = 0;
    while (off < chunk.length) off += await conn.write(chunk.subarray(off));
  }
  conn.close();
}

async function serve(name: string, port: number): Promise<void> {
  const listener = Deno.listen({ hostname: "0.0.0.0", port });
  console.log("listening");
  const reply = encoder.encode(name + "\n");
  for await (const conn of listener) {
    void conn.write(reply).catch(() => {}).finally(() => {
      try {
        conn.close();
      } catch { /* closed by the peer */ }
    });
  }
}

/** Reads until EOF (the server closes after its name). */
async function readAll(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(256);
  let out = "";
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    out += new TextDecoder().decode(buf.subarray(0, n));
  }
  return out.trim();
}

async function connect(host: string, port: number, count: number): Promise<void> {
  const ms: number[] = [];
  const by: Record<string, number> = {};
  for (let i = 0; i < count + 20; i++) {
    const t0 = performance.now();
    const conn = await Deno.connect({ hostname: host, port, signal: AbortSignal.timeout(5_000) });
    const dt = performance.now() - t0;
    let name: string;
    try {
      name = await readAll(conn);
    } finally {
      conn.close();
    }
    if (!name) throw new Error(`connection ${i} to ${host}:${port} got no answer`);
    if (i < 20) continue;
    ms.push(dt);
    by[name] = (by[name] ?? 0) + 1;
  }
  console.log(JSON.stringify({ ms, by }));
}

if (import.meta.main) {
  const [mode, ...a] = Deno.args;
  if (mode === "recv") await receive(Number(a[0]));
  else if (mode === "send") await send(a[0]!, Number(a[1]), Number(a[2]));
  else if (mode === "serve") await serve(a[0]!, Number(a[1]));
  else if (mode === "connect") await connect(a[0]!, Number(a[1]), Number(a[2]));
  else if (mode === "dns") {
    const stats = await measureDnsLookupMs(a[1]!, { server: a[0]!, count: Number(a[2]) });
    console.log(JSON.stringify(stats));
  } else {
    console.error(
      "usage: _net_probe.ts recv PORT | send HOST PORT SECONDS | serve NAME PORT |" +
        " connect HOST PORT COUNT | dns SERVER NAME COUNT",
    );
    Deno.exit(2);
  }
}
