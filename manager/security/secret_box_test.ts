import assert from "node:assert/strict";
import { NotFoundError, UnauthenticatedError, ValidationError } from "../../proto/errors.ts";
import { EncryptedDataSchema } from "../../proto/schema/secret.ts";
import { createRootCa, importKeyPairPem } from "./ca.ts";
import {
  decryptSecret,
  deriveKekFromUnlockKey,
  encryptSecret,
  generateDataKey,
  generateKekBytes,
  generateUnlockKey,
  importKek,
  openCaKey,
  sealCaKey,
  secretAad,
  unwrapKey,
  wrapKey,
} from "./secret_box.ts";
import { fromBase64, toBase64 } from "./_encoding.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const isUnauth = (e: unknown) => e instanceof UnauthenticatedError;
const SECRET = { id: "s1", name: "db-password" };
const PLAINTEXT = "correct horse battery staple, a long and recognizable plaintext";

Deno.test("secret_box: round trip, output matches EncryptedData and hides the plaintext", async () => {
  const dataKey = await generateDataKey();
  assert.match(dataKey.keyId, /^dk-[0-9a-f]{16}$/);
  const sealed = await encryptSecret(enc(PLAINTEXT), { dataKey, aad: secretAad(SECRET) });
  EncryptedDataSchema.parse(sealed);
  assert.equal(sealed.keyId, dataKey.keyId);
  assert.equal(fromBase64(sealed.nonce).length, 12);
  // 16-byte GCM tag appended.
  assert.equal(fromBase64(sealed.ciphertext).length, enc(PLAINTEXT).length + 16);
  const raw = dec(fromBase64(sealed.ciphertext));
  assert.ok(!raw.includes("horse") && !JSON.stringify(sealed).includes("horse"));
  const opened = await decryptSecret(sealed, { dataKeys: dataKey, aad: secretAad(SECRET) });
  assert.equal(dec(opened), PLAINTEXT);
  // Fresh nonce each time: the same plaintext never seals to the same bytes.
  const again = await encryptSecret(enc(PLAINTEXT), { dataKey, aad: secretAad(SECRET) });
  assert.notEqual(again.nonce, sealed.nonce);
  assert.notEqual(again.ciphertext, sealed.ciphertext);
});

Deno.test("secret_box: tampering, another secret's context or another key all fail", async () => {
  const dataKey = await generateDataKey();
  const aad = secretAad(SECRET);
  const sealed = await encryptSecret(enc(PLAINTEXT), { dataKey, aad });

  const bytes = fromBase64(sealed.ciphertext);
  bytes[3] ^= 0x01;
  await assert.rejects(
    decryptSecret({ ...sealed, ciphertext: toBase64(bytes) }, { dataKeys: dataKey, aad }),
    isUnauth,
  );
  const nonce = fromBase64(sealed.nonce);
  nonce[0] ^= 0x80;
  await assert.rejects(
    decryptSecret({ ...sealed, nonce: toBase64(nonce) }, { dataKeys: dataKey, aad }),
    isUnauth,
  );
  // Swapped into another secret's record: its AAD differs.
  await assert.rejects(
    decryptSecret(sealed, { dataKeys: dataKey, aad: secretAad({ id: "s2", name: "api-key" }) }),
    (e) => isUnauth(e) && /cannot decrypt secret\/s2\/api-key/.test((e as Error).message),
  );
  // Another data key relabeled with this key ID.
  const other = await generateDataKey();
  await assert.rejects(
    decryptSecret(sealed, { dataKeys: { ...other, keyId: dataKey.keyId }, aad }),
    isUnauth,
  );
  await assert.rejects(
    decryptSecret(sealed, { dataKeys: [other], aad }),
    (e) => e instanceof NotFoundError && e.message === `data key "${dataKey.keyId}" not found`,
  );
  // With several keys (after a rotation) the right one is picked.
  assert.equal(dec(await decryptSecret(sealed, { dataKeys: [other, dataKey], aad })), PLAINTEXT);
});

Deno.test("secret_box: the data key is wrapped by a stored KEK and only that KEK unwraps it", async () => {
  const kek = await importKek(generateKekBytes());
  const dataKey = await generateDataKey();
  const wrapped = await wrapKey(dataKey, kek);
  assert.equal(wrapped.keyId, dataKey.keyId);
  assert.equal(wrapped.kekId, kek.kekId);
  assert.equal(fromBase64(wrapped.wrapped).length, 40); // 32-byte key + 8-byte AES-KW check
  const sealed = await encryptSecret(enc(PLAINTEXT), { dataKey, aad: "x" });
  const back = await unwrapKey(wrapped, kek);
  assert.equal(dec(await decryptSecret(sealed, { dataKeys: back, aad: "x" })), PLAINTEXT);

  const wrongKek = await importKek(generateKekBytes());
  await assert.rejects(
    unwrapKey(wrapped, wrongKek),
    (e) => isUnauth(e) && /wrapped by key [0-9a-f]{16}, not [0-9a-f]{16}/.test(String(e)),
  );
  await assert.rejects(importKek(new Uint8Array(16)), ValidationError);
});

Deno.test("secret_box: autolock KEK derives from the unlock key, deterministically", async () => {
  const unlockKey = generateUnlockKey();
  assert.match(unlockKey, /^WRNKEY-[a-z2-7]{52}$/);
  const a = await deriveKekFromUnlockKey(unlockKey);
  const b = await deriveKekFromUnlockKey(`  ${unlockKey}\n`);
  assert.equal(a.kekId, b.kekId);
  const dataKey = await generateDataKey();
  const wrapped = await wrapKey(dataKey, a);
  await unwrapKey(wrapped, b);
  const otherKek = await deriveKekFromUnlockKey(generateUnlockKey());
  await assert.rejects(unwrapKey(wrapped, otherKek), isUnauth);
  for (const bad of ["", "WRNKEY-abc", unlockKey.toUpperCase(), unlockKey + "a", "SWMKEY-1-x"]) {
    await assert.rejects(
      deriveKekFromUnlockKey(bad),
      (e) => e instanceof ValidationError && e.field === "unlockKey",
      bad,
    );
  }
  // Injected randomness makes the unlock key (and so the KEK) reproducible.
  const zeros = (b: Uint8Array) => b.fill(0);
  assert.equal(generateUnlockKey(zeros), `WRNKEY-${"a".repeat(52)}`);
});

Deno.test("secret_box: the CA private key is sealed for replicated state", async () => {
  const ca = await createRootCa({ clusterId: "c1", lifetimeMs: 3_600_000, now: 0 });
  const dataKey = await generateDataKey();
  const sealed = await sealCaKey({ keyPem: ca.keyPem, dataKey, clusterId: "c1" });
  assert.ok(!JSON.stringify(sealed).includes("PRIVATE KEY"));
  const keyPem = await openCaKey({ encrypted: sealed, dataKeys: dataKey, clusterId: "c1" });
  assert.equal(keyPem, ca.keyPem);
  await importKeyPairPem(keyPem);
  await assert.rejects(
    openCaKey({ encrypted: sealed, dataKeys: dataKey, clusterId: "c2" }),
    isUnauth,
  );
  // A secret's ciphertext cannot pose as the CA key either.
  const secret = await encryptSecret(enc(ca.keyPem), { dataKey, aad: secretAad(SECRET) });
  await assert.rejects(openCaKey({ encrypted: secret, dataKeys: dataKey, clusterId: "c1" }));
});
