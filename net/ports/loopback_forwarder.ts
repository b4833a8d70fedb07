/**
 * `127.0.0.1:<published port>` for ingress (routing-mesh) TCP ports, as Docker Swarm users expect
 * `curl localhost:8080` on a node to work. The nat rules (ingress.ts) cannot take it: a packet from
 * 127.0.0.1 DNATed to a task would need `route_localnet` on the bridge, which also lets tasks reach
 * the host's loopback-only services. So, like Docker's userland proxy, the node listens on
 * 127.0.0.1 itself and relays each connection to the same port on one of its own non-loopback
 * addresses (the bridge gateway), where the nat OUTPUT rules balance it over the service's tasks.
 * UDP is not relayed; a port some other program holds on 127.0.0.1 is left to it (logged).
 * @module
 */
import type { Logger } from "../../proto/log.ts";

/** Options of {@link LoopbackForwarder}. */
export interface LoopbackForwarderOptions {
  /** A local non-loopback address of the node that the ingress rules answer on. */
  target: string;
  log?: Logger;
  /** Listen address; default 127.0.0.1 (tests use another loopback address). */
  listen?: string;
}

/** Relays TCP connections on loopback to the node's ingress ports. See the module doc. */
export class LoopbackForwarder {
  readonly #o: LoopbackForwarderOptions;
  readonly #listeners = new Map<number, Deno.TcpListener>();
  readonly #conns = new Set<Deno.Conn>();
  /** Ports that could not be bound, so the warning is logged once per port. */
  readonly #refused = new Set<number>();
  #closed = false;

  constructor(o: LoopbackForwarderOptions) {
    this.#o = o;
  }

  /** The ports listened on now. */
  get ports(): number[] {
    return [...this.#listeners.keys()].sort((a, b) => a - b);
  }

  /** Listens on exactly `ports` (TCP): opens the new ones, closes those no longer published. */
  sync(ports: Iterable<number>): void {
    if (this.#closed) return;
    const want = new Set(ports);
    for (const [port, l] of this.#listeners) {
      if (!want.has(port)) {
        this.#listeners.delete(port);
        l.close();
      }
    }
    for (const port of this.#refused) if (!want.has(port)) this.#refused.delete(port);
    for (const port of want) {
      if (this.#listeners.has(port) || this.#refused.has(port)) continue;
      let l: Deno.TcpListener;
      try {
        l = Deno.listen({ hostname: this.#o.listen ?? "127.0.0.1", port, transport: "tcp" });
      } catch (err) {
        this.#refused.add(port);
        this.#o.log?.warn("loopback port not relayed", { port, error: String(err) });
        continue;
      }
      this.#listeners.set(port, l);
      void this.#accept(l, port);
    }
  }

  async #accept(l: Deno.TcpListener, port: number): Promise<void> {
    try {
      for await (const conn of l) void this.#relay(conn, port);
    } catch (err) {
      // Closed by sync() or close() (no longer in the map), or failed (e.g. out of file
      // descriptors): forget it, so the next sync() listens again.
      if (this.#listeners.get(port) === l) {
        this.#listeners.delete(port);
        try {
          l.close();
        } catch { /* already closed */ }
        this.#o.log?.warn("loopback relay stopped accepting", { port, error: String(err) });
      }
    }
  }

  async #relay(client: Deno.Conn, port: number): Promise<void> {
    this.#conns.add(client);
    let upstream: Deno.Conn | undefined;
    try {
      upstream = await Deno.connect({ hostname: this.#o.target, port });
      this.#conns.add(upstream);
      await Promise.all([pump(client, upstream), pump(upstream, client)]);
    } catch (err) {
      this.#o.log?.debug("loopback relay ended", { port, error: String(err) });
    } finally {
      for (const c of [client, upstream]) {
        if (!c) continue;
        this.#conns.delete(c);
        try {
          c.close();
        } catch { /* already closed */ }
      }
    }
  }

  /** Stops listening and drops relayed connections. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const l of this.#listeners.values()) l.close();
    this.#listeners.clear();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    this.#conns.clear();
  }
}

/** Copies `from` to `to` until EOF, then half-closes `to` (the peer sees the EOF too). */
async function pump(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(32 * 1024);
  for (;;) {
    const n = await from.read(buf);
    if (n === null) break;
    for (let off = 0; off < n;) off += await to.write(buf.subarray(off, n));
  }
  await to.closeWrite().catch(() => {});
}
