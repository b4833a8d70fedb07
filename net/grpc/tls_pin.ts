/**
 * Trust on first use, pinned by a join token's CA digest: how a joining node learns the cluster CA
 * before it has anything to verify a manager with. Re-exported by tls.ts.
 * @module
 */
import * as tls from "node:tls";
import { UnauthenticatedError, UnavailableError } from "../../proto/errors.ts";
import { MANAGER_SERVER_NAME } from "./tls_peer.ts";

/** Options of {@link fetchPinnedCaPem}. */
export interface FetchPinnedCaOptions {
  /** The manager's `host:port`. */
  address: string;
  /** Hex SHA-256 of the CA certificate's DER, from the join token. */
  caDigest: string;
  /** Give up after this long. Default 10 s. */
  timeoutMs?: number;
}

/**
 * Trust on first use, pinned by the join token (Swarm's join): opens a TLS connection to a manager
 * WITHOUT verifying it, and returns the CA certificate from the chain it serves only if its DER's
 * SHA-256 equals `caDigest`. Nothing secret is sent on that connection. Use the returned PEM with
 * `channelCredentials` (tls.ts): the join call then verifies the manager's certificate against it.
 * Throws UnauthenticatedError when no served certificate matches, UnavailableError when the manager
 * cannot be reached.
 */
export async function fetchPinnedCaPem(opts: FetchPinnedCaOptions): Promise<string> {
  const { host, port } = splitHostPort(opts.address);
  const socket = tls.connect({
    host,
    port,
    servername: MANAGER_SERVER_NAME,
    rejectUnauthorized: false,
    ALPNProtocols: ["h2"],
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no TLS handshake within ${opts.timeoutMs ?? 10_000} ms`)),
        opts.timeoutMs ?? 10_000,
      );
      socket.once("secureConnect", () => resolve());
      socket.once("error", reject);
    }).catch((err) => {
      throw new UnavailableError(`cannot reach manager at ${opts.address}: ${err.message}`, {
        cause: err,
      });
    });
    const want = opts.caDigest.toLowerCase();
    const seen: string[] = [];
    let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
    while (cert?.raw && seen.length < 8) {
      const der = new Uint8Array(cert.raw);
      const digest = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", der)));
      if (digest === want) return toPem(der);
      seen.push(digest);
      cert = cert.issuerCertificate === cert ? undefined : cert.issuerCertificate;
    }
    throw new UnauthenticatedError(
      `manager at ${opts.address} does not serve the CA named by the join token ` +
        `(want sha256 ${want}, saw ${seen.join(", ") || "no certificate"}): ` +
        "the token is for another cluster, or the connection is being intercepted",
    );
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!m) throw new TypeError(`address "${address}" is not host:port`);
  return { host: m[1], port: Number(m[2]) };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function toPem(der: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...der));
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}
