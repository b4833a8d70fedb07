/**
 * A TCP proxy on 127.0.0.1 whose connections a test can cut at a chosen moment, e.g. after a
 * manager applied a write and before its answer went out: the client sees the connection drop
 * (UNAVAILABLE) for a request that did apply. Or silence, as a network partition does: the
 * connections stay open but carry nothing.
 * @module
 */

/** A running {@link cutProxy}. */
export interface CutProxy extends AsyncDisposable {
  /** `127.0.0.1:port` to dial instead of the target. */
  address: string;
  /** Closes every open connection, both sides, at once; later connections work again. */
  cut(): void;
  /**
   * A partition: every open connection stays open but its bytes are dropped from now on, for
   * good (as a TCP connection whose packets were dropped can stay stuck retransmitting long
   * after the network healed); with `andNew`, connections made later are silent too.
   */
  silence(o?: { andNew?: boolean }): void;
}

/** Proxies `127.0.0.1:<new port>` to `target` (`host:port`). */
export function cutProxy(target: string): CutProxy {
  const colon = target.lastIndexOf(":");
  const hostname = target.slice(0, colon);
  const port = Number(target.slice(colon + 1));
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const silent = new Set<Deno.Conn>();
  let silenceNew = false;
  const pumps: Promise<void>[] = [];
  const close = (c: Deno.Conn) => {
    if (!open.delete(c)) return;
    try {
      c.close();
    } catch { /* closed already */ }
  };
  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        if (silent.has(from)) continue;
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch { /* cut: the other pump closes too */ }
    close(from);
    close(to);
  };
  const accepting = (async () => {
    for await (const down of listener) {
      const up = await Deno.connect({ hostname, port });
      open.add(down);
      open.add(up);
      if (silenceNew) [down, up].forEach((c) => silent.add(c));
      pumps.push(pump(down, up), pump(up, down));
    }
  })().catch(() => {/* listener closed */});
  const cut = () => {
    for (const c of [...open]) close(c);
  };
  return {
    address: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    cut,
    silence: (o = {}) => {
      for (const c of open) silent.add(c);
      silenceNew = o.andNew ?? false;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      cut();
      await Promise.all(pumps);
    },
  };
}
