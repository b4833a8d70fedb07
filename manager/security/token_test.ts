import assert from "node:assert/strict";
import { UnauthenticatedError, ValidationError } from "../../proto/errors.ts";
import { caDigest, createRootCa } from "./ca.ts";
import {
  checkCaDigest,
  generateToken,
  hashTokenSecret,
  parseToken,
  type StoredToken,
  verifyToken,
} from "./token.ts";

const NOW = Date.UTC(2030, 0, 1);
const DIGEST = "ab".repeat(32);

/** A deterministic byte source: counts up from `start`. */
function counter(start: number) {
  let n = start;
  return (bytes: Uint8Array) => {
    for (let i = 0; i < bytes.length; i++) bytes[i] = n++ & 0xff;
    return bytes;
  };
}

async function store(token: string, extra: Partial<StoredToken> = {}): Promise<StoredToken> {
  const p = parseToken(token);
  return { role: p.role, secretHash: await hashTokenSecret(p.secret), ...extra };
}

const isUnauth = (re: RegExp) => (e: unknown) =>
  e instanceof UnauthenticatedError && re.test(e.message);

Deno.test("token: format carries the CA digest, the role and a base32 secret", () => {
  const t = generateToken({ caDigest: DIGEST, role: "worker", rand: counter(0) });
  assert.match(t, /^WRN1-[0-9a-f]{64}-w-[a-z2-7]{32}$/);
  // Deterministic with injected randomness: bytes 0..19 in RFC 4648 base32 (checked with Python).
  assert.equal(t, `WRN1-${DIGEST}-w-aaaqeayeaudaocajbifqydiob4ibceqt`);
  const m = generateToken({ caDigest: DIGEST, role: "manager" });
  assert.deepEqual(parseToken(m).role, "manager");
  assert.equal(parseToken(m).caDigest, DIGEST);
  // Two real tokens differ.
  assert.notEqual(m, generateToken({ caDigest: DIGEST, role: "manager" }));
});

Deno.test("token: malformed tokens are ValidationErrors on field token", () => {
  const bad = [
    "",
    "SWMTKN-1-abc",
    `WRN1-${DIGEST}-x-${"a".repeat(32)}`,
    `WRN1-${DIGEST.slice(2)}-w-${"a".repeat(32)}`,
    `WRN1-${DIGEST}-w-${"a".repeat(31)}`,
    `WRN1-${DIGEST}-w-${"A".repeat(32)}`,
    `WRN1-${DIGEST}-w-${"a".repeat(32)}-extra`,
  ];
  for (const t of bad) {
    assert.throws(
      () => parseToken(t),
      (e) => e instanceof ValidationError && e.field === "token",
      t,
    );
  }
  assert.throws(() => generateToken({ caDigest: "xyz", role: "worker" }), /caDigest/);
});

Deno.test("token: the stored hash verifies; the token itself is not stored", async () => {
  const t = generateToken({ caDigest: DIGEST, role: "worker" });
  const stored = await store(t);
  assert.match(stored.secretHash, /^[0-9a-f]{64}$/);
  assert.ok(!JSON.stringify(stored).includes(parseToken(t).secret));
  const ok = await verifyToken(t, stored, { now: NOW, caDigest: DIGEST });
  assert.equal(ok.role, "worker");
  // Surrounding whitespace from a paste is tolerated.
  await verifyToken(` ${t}\n`, stored, { now: NOW });
});

Deno.test("token: rotation makes the old token stop working", async () => {
  const old = generateToken({ caDigest: DIGEST, role: "worker" });
  const rotated = generateToken({ caDigest: DIGEST, role: "worker" });
  const stored = await store(rotated);
  await verifyToken(rotated, stored, { now: NOW });
  await assert.rejects(
    verifyToken(old, stored, { now: NOW }),
    isUnauth(/^join token was rotated or is invalid$/),
  );
});

Deno.test("token: wrong role, foreign CA digest and expiry are refused with clear reasons", async () => {
  const w = generateToken({ caDigest: DIGEST, role: "worker" });
  const m = generateToken({ caDigest: DIGEST, role: "manager" });
  await assert.rejects(
    verifyToken(w, await store(m), { now: NOW }),
    isUnauth(/^join token is for role worker, not manager$/),
  );
  await assert.rejects(
    verifyToken(w, await store(w), { now: NOW, caDigest: "cd".repeat(32) }),
    isUnauth(/rotated or is invalid/),
  );
  const stored = await store(w, { expiresAt: NOW + 1000 });
  await verifyToken(w, stored, { now: NOW + 999 });
  await assert.rejects(
    verifyToken(w, stored, { now: NOW + 1000 }),
    isUnauth(new RegExp(`^join token expired at ${new Date(NOW + 1000).toISOString()}$`)),
  );
  await assert.rejects(
    verifyToken("nope", stored, { now: NOW }),
    (e) => e instanceof ValidationError,
  );
});

Deno.test("token: a joining node detects a manager presenting another CA", async () => {
  const ca = await createRootCa({ clusterId: "c1", lifetimeMs: 3_600_000, now: NOW });
  const impostor = await createRootCa({ clusterId: "c1", lifetimeMs: 3_600_000, now: NOW });
  const t = generateToken({ caDigest: await caDigest(ca.certPem), role: "worker" });
  await checkCaDigest(t, ca.certPem);
  await assert.rejects(
    checkCaDigest(t, impostor.certPem),
    isUnauth(/is not the one the join token names/),
  );
});
