/**
 * The node's embedded resolver: UDP and TCP on one address (the bridge gateway, port 53, in
 * production), answering the cluster's names from the endpoints ({@link DnsServer.setEndpoints})
 * and relaying everything else unchanged to the host's upstream resolvers.
 *
 * ```
 * query ─▶ decode ─▶ decide(records) ─┬─ answer (VIP / task IPs / NXDOMAIN), TTL 1 s;
 *                                     │  over UDP cut to 512 bytes with TC (client retries TCP)
 *                                     └─ forward: same bytes to upstream 1, 2, … (2 s each)
 *                                        ─▶ first reply with the query's id; else SERVFAIL
 * ```
 * @module
 */
// @ts-types="@types/dns-packet"
import * as dnsPacket from "dns-packet";
import { Buffer } from "node:buffer";
import dgram from "node:dgram";
import type { ServiceEndpoint } from "../../proto/schema/mod.ts";
import { type Logger, logger } from "../../proto/log.ts";
import { buildRecords, decide, type DnsRecords, fitUdp, reply } from "./records.ts";
import { hostUpstreams, type Upstream } from "./upstreams.ts";

/** Options of {@link DnsServer.start}. */
export interface DnsServerOptions {
  /** Address to listen on (UDP and TCP), e.g. the bridge gateway. */
  hostname: string;
  /** Default 53; 0 picks a free port (tests). */
  port?: number;
  /** Resolvers for other names; default the host's (/etc/resolv.conf) minus this server. */
  upstreams?: Upstream[];
  /** Per upstream; default 2000. */
  forwardTimeoutMs?: number;
}

/** The node resolver. See the module doc. */
export class DnsServer {
  readonly hostname: string;
  readonly port: number;
  readonly upstreams: Upstream[];
  readonly #udp: dgram.Socket;
  readonly #tcp: Deno.TcpListener;
  readonly #timeoutMs: number;
  readonly #log: Logger;
  readonly #conns = new Set<Deno.Conn>();
  #records: DnsRecords = new Map();
  #rotate = 0;
  #closed = false;

  private constructor(
    o: DnsServerOptions,
    udp: dgram.Socket,
    tcp: Deno.TcpListener,
    upstreams: Upstream[],
  ) {
    this.hostname = o.hostname;
    this.port = tcp.addr.port;
    this.upstreams = upstreams;
    this.#udp = udp;
    this.#tcp = tcp;
    this.#timeoutMs = o.forwardTimeoutMs ?? 2_000;
    this.#log = logger("dns", { listen: `${o.hostname}:${tcp.addr.port}` });
  }

  /** Binds UDP and TCP and starts answering. */
  static async start(o: DnsServerOptions): Promise<DnsServer> {
    const { udp, tcp } = await bindPair(o.hostname, o.port ?? 53);
    const self = { ip: o.hostname, port: tcp.addr.port };
    const upstreams = o.upstreams ?? await hostUpstreams([self]);
    const s = new DnsServer(o, udp, tcp, upstreams);
    udp.on("message", (msg, rinfo) => void s.#onUdp(msg, rinfo));
    void s.#acceptTcp();
    return s;
  }

  /** Replaces the cluster records; takes effect for the next query. */
  setEndpoints(endpoints: readonly ServiceEndpoint[]): void {
    this.#records = buildRecords(endpoints);
  }

  /** The current records (diagnostics). */
  get records(): ReadonlyMap<string, readonly string[]> {
    return this.#records;
  }

  /** Stops listening and closes open TCP connections. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#tcp.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // Closed already.
      }
    }
    return new Promise((resolve) => this.#udp.close(() => resolve()));
  }

  /** The response bytes for one query. */
  async #handle(bytes: Uint8Array, transport: "udp" | "tcp"): Promise<Uint8Array | undefined> {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(Buffer.from(bytes));
    } catch {
      if (bytes.length < 2) return undefined;
      return dnsPacket.encode(reply({ id: (bytes[0]! << 8) | bytes[1]! }, 1, []));
    }
    const d = decide(this.#records, query, this.#rotate++);
    if (d.kind === "answer") {
      return dnsPacket.encode(transport === "udp" ? fitUdp(d.response) : d.response);
    }
    for (const u of this.upstreams) {
      try {
        const res = transport === "udp"
          ? await forwardUdp(bytes, u, this.#timeoutMs)
          : await forwardTcp(bytes, u, this.#timeoutMs);
        if (res.length >= 2 && res[0] === bytes[0] && res[1] === bytes[1]) return res;
      } catch (err) {
        this.#log.debug("upstream failed", { upstream: `${u.ip}:${u.port}`, err });
      }
    }
    return dnsPacket.encode(reply(query, 2, []));
  }

  async #onUdp(msg: Uint8Array, rinfo: dgram.RemoteInfo): Promise<void> {
    const res = await this.#handle(msg, "udp");
    if (res && !this.#closed) this.#udp.send(res, rinfo.port, rinfo.address);
  }

  async #acceptTcp(): Promise<void> {
    try {
      for await (const conn of this.#tcp) {
        this.#conns.add(conn);
        void this.#serveTcp(conn).finally(() => this.#conns.delete(conn));
      }
    } catch (err) {
      if (!this.#closed) this.#log.error("DNS TCP listener stopped", { err });
    }
  }

  async #serveTcp(conn: Deno.Conn): Promise<void> {
    try {
      for (;;) {
        const msg = await readFrame(conn, this.#timeoutMs * 5);
        if (!msg) break;
        const res = await this.#handle(msg, "tcp");
        if (res) await writeFrame(conn, res);
      }
    } catch {
      // Client went away or sent garbage: drop the connection.
    } finally {
      try {
        conn.close();
      } catch {
        // Closed by close().
      }
    }
  }
}

/** Sends `query` to `u` over UDP and resolves with the first reply. */
function forwardUdp(query: Uint8Array, u: Upstream, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(u.ip.includes(":") ? "udp6" : "udp4");
    const timer = setTimeout(() => done(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
    const done = (err?: Error, msg?: Uint8Array) => {
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(msg!);
    };
    sock.on("error", (err) => done(err));
    sock.on("message", (msg) => done(undefined, new Uint8Array(msg)));
    sock.send(query, u.port, u.ip);
  });
}

/** Sends `query` to `u` over TCP (length-prefixed) and reads one reply. */
async function forwardTcp(query: Uint8Array, u: Upstream, timeoutMs: number): Promise<Uint8Array> {
  const conn = await Deno.connect({ hostname: u.ip, port: u.port });
  try {
    await writeFrame(conn, query);
    const res = await readFrame(conn, timeoutMs);
    if (!res) throw new Error("upstream closed the connection");
    return res;
  } finally {
    conn.close();
  }
}

async function writeFrame(conn: Deno.Conn, msg: Uint8Array): Promise<void> {
  const frame = new Uint8Array(msg.length + 2);
  frame[0] = msg.length >> 8;
  frame[1] = msg.length & 0xff;
  frame.set(msg, 2);
  let off = 0;
  while (off < frame.length) off += await conn.write(frame.subarray(off));
}

/** Reads one length-prefixed DNS message; undefined at a clean EOF. */
async function readFrame(conn: Deno.Conn, timeoutMs: number): Promise<Uint8Array | undefined> {
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }, timeoutMs);
  try {
    const head = await readExactly(conn, 2);
    if (!head) return undefined;
    const body = await readExactly(conn, (head[0]! << 8) | head[1]!);
    if (!body) throw new Error("truncated DNS message over TCP");
    return body;
  } finally {
    clearTimeout(timer);
  }
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array | undefined> {
  const buf = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const r = await conn.read(buf.subarray(off));
    if (r === null) return undefined;
    off += r;
  }
  return buf;
}

/**
 * Binds UDP and TCP on one port. With port 0 the kernel picks a free UDP port whose TCP twin may
 * be taken by someone else: then it tries another pick (bounded). A fixed port fails at once.
 */
async function bindPair(
  hostname: string,
  port: number,
): Promise<{ udp: dgram.Socket; tcp: Deno.TcpListener }> {
  for (let attempt = 0;; attempt++) {
    const udp = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind(port, hostname, () => {
        udp.off("error", reject);
        resolve();
      });
    });
    try {
      const tcp = Deno.listen({ hostname, port: udp.address().port, transport: "tcp" });
      return { udp, tcp };
    } catch (err) {
      udp.close();
      if (port !== 0 || !(err instanceof Deno.errors.AddrInUse) || attempt >= 20) throw err;
    }
  }
}
