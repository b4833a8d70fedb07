/**
 * Join tokens (Docker Swarm's model): `WRN1-<ca digest>-<role>-<secret>`.
 *
 *   WRN1                 format version
 *   <ca digest>          64 hex: SHA-256 of the cluster CA certificate's DER. A joining node
 *                        checks the CA a manager presents against it BEFORE trusting that manager
 *                        (and before sending the token), so a token cannot be replayed to a fake.
 *   <role>               `m` (manager) or `w` (worker)
 *   <secret>             32 chars of lowercase base32 (160 random bits)
 *
 * The cluster stores only {@link hashTokenSecret} of the secret, never the token. Rotating a token
 * means generating a new one and storing its hash: the old secret then no longer verifies.
 * @module
 */
import { UnauthenticatedError, ValidationError } from "../../proto/errors.ts";
import { caDigest } from "./ca.ts";
import {
  constantTimeEqual,
  cryptoRandom,
  type RandomBytes,
  randomBytes,
  sha256Hex,
  toBase32,
} from "./_encoding.ts";

/** The roles a join token can grant (admins get certificates from a manager, not by joining). */
export type TokenRole = "manager" | "worker";

/** A join token split into its parts. */
export interface ParsedToken {
  caDigest: string;
  role: TokenRole;
  secret: string;
}

/** What the cluster stores per role: the secret's hash, never the token. */
export interface StoredToken {
  role: TokenRole;
  /** {@link hashTokenSecret} of the current secret. */
  secretHash: string;
  /** The token stops working after this time (ms since the epoch); absent = no expiry. */
  expiresAt?: number;
}

const PREFIX = "WRN1";
const SECRET_BYTES = 20;
const ROLE_CODE: Record<TokenRole, string> = { manager: "m", worker: "w" };
const TOKEN_RE = /^WRN1-([0-9a-f]{64})-([mw])-([a-z2-7]{32,})$/;

/** Options of {@link generateToken}. */
export interface GenerateTokenOptions {
  /** {@link caDigest} of the cluster CA certificate. */
  caDigest: string;
  role: TokenRole;
  /** Random bytes source (default: the platform CSPRNG). */
  rand?: RandomBytes;
}

/** A fresh join token. Store `hashTokenSecret(parseToken(token).secret)`, show the token once. */
export function generateToken(opts: GenerateTokenOptions): string {
  if (!/^[0-9a-f]{64}$/.test(opts.caDigest)) {
    throw new ValidationError("caDigest", "must be 64 lowercase hex characters (SHA-256)");
  }
  if (!(opts.role in ROLE_CODE)) throw new ValidationError("role", "must be manager or worker");
  const secret = toBase32(randomBytes(SECRET_BYTES, opts.rand ?? cryptoRandom));
  return `${PREFIX}-${opts.caDigest}-${ROLE_CODE[opts.role]}-${secret}`;
}

/** Splits a token into its parts; throws ValidationError("token", ...) when malformed. */
export function parseToken(token: string): ParsedToken {
  const t = token.trim();
  if (!t.startsWith(`${PREFIX}-`)) {
    throw new ValidationError("token", `must start with ${PREFIX}- (is this a Warren join token?)`);
  }
  const m = TOKEN_RE.exec(t);
  if (!m) {
    throw new ValidationError(
      "token",
      `must look like ${PREFIX}-<64 hex>-<m|w>-<32+ base32 characters>`,
    );
  }
  return { caDigest: m[1], role: m[2] === "m" ? "manager" : "worker", secret: m[3] };
}

/** Hex SHA-256 of a token secret: what the cluster stores. */
export async function hashTokenSecret(secret: string): Promise<string> {
  return await sha256Hex(secret);
}

/** Options of {@link verifyToken}. */
export interface VerifyTokenOptions {
  /** The current time, ms since the epoch. */
  now: number;
  /** The cluster CA's digest: a token naming another CA is refused as invalid. */
  caDigest?: string;
}

/**
 * Checks a presented token against the stored record for the role the caller asks for, in
 * constant time. Throws ValidationError for a malformed token and UnauthenticatedError for a
 * token of the wrong role, for another cluster, rotated away or expired.
 */
export async function verifyToken(
  token: string,
  stored: StoredToken,
  opts: VerifyTokenOptions,
): Promise<ParsedToken> {
  const parsed = parseToken(token);
  if (parsed.role !== stored.role) {
    throw new UnauthenticatedError(
      `join token is for role ${parsed.role}, not ${stored.role}`,
    );
  }
  const hash = await hashTokenSecret(parsed.secret);
  const digestOk = opts.caDigest === undefined || constantTimeEqual(parsed.caDigest, opts.caDigest);
  if (!constantTimeEqual(hash, stored.secretHash) || !digestOk) {
    throw new UnauthenticatedError("join token was rotated or is invalid");
  }
  if (stored.expiresAt !== undefined && opts.now >= stored.expiresAt) {
    throw new UnauthenticatedError(
      `join token expired at ${new Date(stored.expiresAt).toISOString()}`,
    );
  }
  return parsed;
}

/**
 * On the joining node: checks that the CA certificate a manager presented is the one the token
 * names, before anything from that manager is trusted. Throws UnauthenticatedError otherwise.
 */
export async function checkCaDigest(token: string, presentedCaPem: string): Promise<void> {
  const want = parseToken(token).caDigest;
  const got = await caDigest(presentedCaPem);
  if (!constantTimeEqual(want, got)) {
    throw new UnauthenticatedError(
      `the manager's CA certificate (sha256 ${got}) is not the one the join token names ` +
        `(sha256 ${want}): the token is for another cluster, or the connection is intercepted`,
    );
  }
}
