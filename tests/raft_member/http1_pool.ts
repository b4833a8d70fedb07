/**
 * A minimal HTTP/1.1 keep-alive client for one server (a Raft test member's API): a pool of
 * TCP connections, one request at a time on each, written and parsed by hand.
 *
 * Why not `fetch`: the benchmark drives thousands of small requests per second from a process
 * that shares two cores with the three members it measures, and `fetch` costs this process
 * about 250 µs of CPU per request here against about 40 µs for this client, so `fetch` alone
 * would cap the cluster's measured throughput. The protocol on the wire is the same (one
 * HTTP/1.1 request per call, answered on the same keep-alive connection).
 *
 * Scope: requests with a small text body; responses with `content-length` or chunked bodies
 * (what `Deno.serve` sends). A failed or timed-out call closes its connection and throws.
 * @module
 */

/** One answer: the status, the raw header block (lower-case names) and the body text. */
export interface Http1Response {
  status: number;
  /** Header lines after the status line, names lower-cased, joined by "\n". */
  headers: string;
  body: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const CRLFCRLF = [13, 10, 13, 10];

/** The value of header `name` (lower-case) in a {@link Http1Response}'s `headers`. */
export function headerValue(headers: string, name: string): string | undefined {
  for (const line of headers.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0 && line.slice(0, i) === name) return line.slice(i + 1).trim();
  }
  return undefined;
}

/** One keep-alive connection with its read buffer. */
class Http1Conn {
  readonly #conn: Deno.TcpConn;
  #buf = new Uint8Array(16 * 1024);
  #start = 0;
  #end = 0;
  closed = false;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  /** Sends one request and reads its response; `keepAlive` false when the server closes. */
  async request(
    method: string,
    path: string,
    host: string,
    body: string | undefined,
  ): Promise<{ res: Http1Response; keepAlive: boolean }> {
    const payload = body === undefined ? undefined : enc.encode(body);
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\n`;
    if (payload) {
      head += `content-type: application/json\r\ncontent-length: ${payload.byteLength}\r\n`;
    }
    head += "\r\n";
    const h = enc.encode(head);
    let out = h;
    if (payload) {
      out = new Uint8Array(h.byteLength + payload.byteLength);
      out.set(h);
      out.set(payload, h.byteLength);
    }
    for (let off = 0; off < out.byteLength;) off += await this.#conn.write(out.subarray(off));
    return await this.#readResponse();
  }

  async #readResponse(): Promise<{ res: Http1Response; keepAlive: boolean }> {
    const headEnd = await this.#fill(() => this.#find(CRLFCRLF));
    const head = dec.decode(this.#buf.subarray(this.#start, headEnd));
    this.#start = headEnd + 4;
    const nl = head.indexOf("\r\n");
    const statusLine = nl < 0 ? head : head.slice(0, nl);
    const status = Number(statusLine.split(" ")[1]);
    if (!statusLine.startsWith("HTTP/1.") || !Number.isInteger(status)) {
      throw new Error(`bad HTTP status line: ${statusLine.slice(0, 80)}`);
    }
    const headers = nl < 0 ? "" : head.slice(nl + 2).split("\r\n").map((l) => {
      const i = l.indexOf(":");
      return i < 0 ? l : l.slice(0, i).toLowerCase() + l.slice(i);
    }).join("\n");
    const keepAlive = headerValue(headers, "connection")?.toLowerCase() !== "close";
    const length = headerValue(headers, "content-length");
    let body: string;
    if (length !== undefined) {
      body = await this.#take(Number(length));
    } else if (headerValue(headers, "transfer-encoding")?.toLowerCase().includes("chunked")) {
      body = await this.#chunked();
    } else {
      throw new Error("HTTP response without content-length or chunked body");
    }
    return { res: { status, headers, body }, keepAlive };
  }

  async #chunked(): Promise<string> {
    const parts: string[] = [];
    for (;;) {
      const lineEnd = await this.#fill(() => this.#find([13, 10]));
      const size = parseInt(dec.decode(this.#buf.subarray(this.#start, lineEnd)), 16);
      this.#start = lineEnd + 2;
      if (!Number.isInteger(size)) throw new Error("bad chunk size in HTTP response");
      if (size === 0) {
        // No trailers expected: the terminating CRLF.
        await this.#fill(() => (this.#end - this.#start >= 2 ? this.#start : -1));
        this.#start += 2;
        return parts.join("");
      }
      parts.push(await this.#take(size));
      await this.#fill(() => (this.#end - this.#start >= 2 ? this.#start : -1));
      this.#start += 2;
    }
  }

  /** Decodes and consumes the next `n` bytes, reading until they are buffered. */
  async #take(n: number): Promise<string> {
    await this.#fill(() => (this.#end - this.#start >= n ? this.#start : -1));
    const s = dec.decode(this.#buf.subarray(this.#start, this.#start + n));
    this.#start += n;
    return s;
  }

  /** Position of `pattern` in the unread bytes, or -1. */
  #find(pattern: number[]): number {
    const b = this.#buf;
    outer: for (let i = this.#start; i + pattern.length <= this.#end; i++) {
      for (let j = 0; j < pattern.length; j++) if (b[i + j] !== pattern[j]) continue outer;
      return i;
    }
    return -1;
  }

  /** Reads from the socket until `probe` finds what it needs (a position ≥ 0). */
  async #fill(probe: () => number): Promise<number> {
    for (;;) {
      const at = probe();
      if (at >= 0) return at;
      if (this.#start === this.#end) this.#start = this.#end = 0;
      if (this.#end === this.#buf.byteLength) {
        // Compact, or grow when the unread bytes fill the buffer.
        const unread = this.#buf.subarray(this.#start, this.#end);
        const next = this.#start > 0 ? this.#buf : new Uint8Array(this.#buf.byteLength * 2);
        next.set(unread);
        this.#buf = next;
        this.#end = unread.byteLength;
        this.#start = 0;
      }
      const n = await this.#conn.read(this.#buf.subarray(this.#end));
      if (n === null) throw new Error("connection closed by the server");
      this.#end += n;
    }
  }
}

/** Keep-alive connections to one `host:port`, each carrying one request at a time. */
export class Http1Pool {
  readonly #hostname: string;
  readonly #port: number;
  readonly #idle: Http1Conn[] = [];
  /** Connections carrying a call, with the time by which its answer must be complete. */
  readonly #busy = new Map<Http1Conn, number>();
  /** Checks the deadlines of #busy while there are any: one timer, not one per call. */
  #watchdog: ReturnType<typeof setInterval> | undefined;
  readonly #checkEveryMs: number;
  #closed = false;

  /** Deadlines are checked every `checkEveryMs`, so a call may overrun its timeout by that much. */
  constructor(hostname: string, port: number, opts: { checkEveryMs?: number } = {}) {
    this.#hostname = hostname;
    this.#port = port;
    this.#checkEveryMs = opts.checkEveryMs ?? 25;
  }

  /**
   * Sends one request on an idle connection (or a new one) and resolves with the response.
   * Throws when the connection fails or no full answer arrives within `timeoutMs`; the
   * connection is then closed, so a late answer cannot be mistaken for the next one.
   */
  async request(
    method: string,
    path: string,
    body: string | undefined,
    timeoutMs: number,
  ): Promise<Http1Response> {
    if (this.#closed) throw new Error("HTTP client closed");
    let c = this.#idle.pop();
    if (!c) {
      const conn = await Deno.connect({ hostname: this.#hostname, port: this.#port });
      conn.setNoDelay(true);
      c = new Http1Conn(conn);
    }
    this.#busy.set(c, performance.now() + timeoutMs);
    this.#watchdog ??= setInterval(() => this.#checkDeadlines(), this.#checkEveryMs);
    try {
      const { res, keepAlive } = await c.request(
        method,
        path,
        `${this.#hostname}:${this.#port}`,
        body,
      );
      if (keepAlive && !this.#closed && !c.closed) this.#idle.push(c);
      else c.close();
      return res;
    } catch (err) {
      const timedOut = c.closed && !this.#closed;
      c.close();
      throw timedOut ? new Error(`no answer within ${timeoutMs} ms`, { cause: err }) : err;
    } finally {
      this.#busy.delete(c);
    }
  }

  /** Closes connections whose answer is overdue; stops once no call is in progress. */
  #checkDeadlines(): void {
    if (this.#busy.size === 0) {
      clearInterval(this.#watchdog);
      this.#watchdog = undefined;
      return;
    }
    const now = performance.now();
    for (const [c, deadline] of this.#busy) if (deadline <= now) c.close();
  }

  /** Closes every connection; calls in progress fail. */
  close(): void {
    this.#closed = true;
    for (const c of this.#idle.splice(0)) c.close();
    for (const c of this.#busy.keys()) c.close();
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
  }
}
