import assert from "node:assert/strict";
import fc from "fast-check";
import {
  constantTimeEqual,
  constantTimeEqualBytes,
  fromBase32,
  fromBase64,
  randomBytes,
  sha256Hex,
  toBase32,
  toBase64,
  toHex,
} from "./_encoding.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("encoding: base32 matches the RFC 4648 test vectors (lowercase, unpadded)", () => {
  const vectors: [string, string][] = [
    ["", ""],
    ["f", "my"],
    ["fo", "mzxq"],
    ["foo", "mzxw6"],
    ["foob", "mzxw6yq"],
    ["fooba", "mzxw6ytb"],
    ["foobar", "mzxw6ytboi"],
  ];
  for (const [plain, b32] of vectors) {
    assert.equal(toBase32(enc(plain)), b32);
    assert.deepEqual(fromBase32(b32), enc(plain));
  }
  assert.equal(fromBase32("MZXW6"), undefined);
  assert.equal(fromBase32("mzx1"), undefined);
});

Deno.test("encoding: base32 and base64 round-trip any bytes", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
    assert.deepEqual(fromBase32(toBase32(bytes)), bytes);
    assert.deepEqual(fromBase64(toBase64(bytes)), bytes);
  }));
  // Large inputs go through base64 in chunks.
  const big = randomBytes(200_000);
  assert.deepEqual(fromBase64(toBase64(big)), big);
});

Deno.test("encoding: sha256Hex and toHex", async () => {
  assert.equal(
    await sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(toHex(new Uint8Array([0, 15, 255])), "000fff");
});

Deno.test("encoding: constantTimeEqual", () => {
  assert.equal(constantTimeEqual("abc", "abc"), true);
  assert.equal(constantTimeEqual("abc", "abd"), false);
  assert.equal(constantTimeEqual("abc", "ab"), false);
  assert.equal(constantTimeEqual("", ""), true);
  assert.equal(constantTimeEqual("", "a"), false);
  const b = (...x: number[]) => new Uint8Array(x);
  assert.equal(constantTimeEqualBytes(b(1, 2, 3), b(1, 2, 3)), true);
  assert.equal(constantTimeEqualBytes(b(1, 2, 3), b(1, 2, 4)), false);
  assert.equal(constantTimeEqualBytes(b(1, 2), b(1, 2, 3)), false);
  assert.equal(constantTimeEqualBytes(b(), b()), true);
});

Deno.test("encoding: randomBytes uses the injected source, filled in place or returned", () => {
  assert.deepEqual(randomBytes(3, (b) => b.fill(7)), new Uint8Array([7, 7, 7]));
  assert.deepEqual(randomBytes(2, () => new Uint8Array([1, 2, 3])), new Uint8Array([1, 2]));
});
