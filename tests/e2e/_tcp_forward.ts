/**
 * A plain TCP forwarder for the e2e tests: every connection accepted on `listen` is piped both
 * ways to a new connection to `target`. The test registry binds 127.0.0.1 of the root network
 * namespace; netns hosts reach it through one forwarder on the hosts' bridge gateway (in the test
 * process) and one per host on the host's own 127.0.0.1 (run as a script inside the namespace),
 * so image references stay `127.0.0.1:PORT/...`, which the worker pulls over plain HTTP.
 *
 * As a script: `deno run --allow-net _tcp_forward.ts LISTEN_HOST:PORT TARGET_HOST:PORT`; prints
 * `forwarding` once it listens.
 * @module
 */

/** `host:port` of one side. */
export interface TcpAddr {
  hostname: string;
  port: number;
}

/** A running forwarder; `await using` (or close) stops it and its open connections. */
export interface TcpForwarder extends AsyncDisposable {
  readonly addr: TcpAddr;
  close(): Promise<void>;
}

/** Listens on `listen` and forwards each connection to `target`. */
export function forwardTcp(o: { listen: TcpAddr; target: TcpAddr }): TcpForwarder {
  const listener = Deno.listen({ hostname: o.listen.hostname, port: o.listen.port });
  const open = new Set<Deno.Conn>();
  const pipes = new Set<Promise<void>>();
  const serve = async (inbound: Deno.Conn) => {
    open.add(inbound);
    let outbound: Deno.Conn | undefined;
    try {
      outbound = await Deno.connect({ hostname: o.target.hostname, port: o.target.port });
      open.add(outbound);
      const out = outbound;
      // Either direction ending closes both: the registry protocol is request/response.
      await Promise.race([
        inbound.readable.pipeTo(out.writable, { preventClose: true }),
        out.readable.pipeTo(inbound.writable, { preventClose: true }),
      ]).catch(() => {});
    } catch {
      /* target unreachable: drop the client */
    } finally {
      for (const c of [inbound, outbound]) {
        if (!c) continue;
        open.delete(c);
        try {
          c.close();
        } catch { /* closed */ }
      }
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      const p = serve(conn);
      pipes.add(p);
      void p.finally(() => pipes.delete(p));
    }
  })().catch(() => {});
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      try {
        listener.close();
      } catch { /* closed */ }
      for (const c of open) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await accepting;
      await Promise.all(pipes);
    })();
  return {
    addr: { hostname: o.listen.hostname, port: (listener.addr as Deno.NetAddr).port },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function parseAddr(text: string | undefined): TcpAddr {
  const m = /^([^:]+):(\d+)$/.exec(text ?? "");
  if (!m) throw new Error(`"${text}" is not HOST:PORT`);
  return { hostname: m[1]!, port: Number(m[2]) };
}

if (import.meta.main) {
  const f = forwardTcp({ listen: parseAddr(Deno.args[0]), target: parseAddr(Deno.args[1]) });
  console.log("forwarding");
  Deno.addSignalListener("SIGTERM", () => void f.close().then(() => Deno.exit(0)));
}
