/**
 * A server session that a client leaves with a GOAWAY ends without a GOAWAY back.
 *
 * Deno's node:http2 answers a received GOAWAY the way Node does, with `close()` (or `destroy`
 * with a code), and on Deno both submit a GOAWAY of their own with last stream ID 0; so does
 * `destroy()` with no argument while the socket is open. Once nghttp2 has sent it, it closes
 * every stream the client opened, and on Deno 2.9.4 to 2.9.6 it can abort there
 * (`find_stream_on_goaway_func: Assertion 'stream->closed_next == NULL'`, denoland/deno#36788
 * from the server's side). A grpc-js client says GOAWAY whenever its channel closes: every CLI
 * command, a worker switching managers. A restarted manager whose own worker did so took
 * itself down (3 of ~26 restarts of a killed leader in an exploratory run; the http2 debug log
 * showed "goaway 0 received", "submitting goaway", then the abort).
 *
 * So, from the client's GOAWAY on, the session's `close` and `destroy` send nothing: the calls
 * in flight finish (the client let them, as its GOAWAY says), then `endConnection` ends the
 * connection below TLS and HTTP/2, as a stopping server does (server.ts).
 * @module
 */
import type { Http2Session, ServerHttp2Stream } from "node:http2";

/** Installs the behaviour above on a server session; call it from the server's `session` event. */
export function closeQuietlyOnGoaway(session: Http2Session, endConnection: () => void): void {
  let open = 0;
  let leaving = false;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    endConnection();
  };
  session.on("stream", (stream: ServerHttp2Stream) => {
    open++;
    stream.once("close", () => {
      open--;
      if (leaving && open === 0) end();
    });
  });
  session.once("goaway", () => {
    leaving = true;
    session.close = (callback?: () => void) => {
      if (callback) session.once("close", callback);
      if (open === 0) end();
    };
    session.destroy = () => end();
  });
}
