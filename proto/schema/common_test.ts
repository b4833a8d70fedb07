import assert from "node:assert/strict";
import { base64DecodedLength, decodeBase64, encodeBase64 } from "./base64.ts";
import { isIpv6, parseCidr, splitHostPort } from "./common.ts";

Deno.test("splitHostPort handles names, IPv4 and bracketed IPv6", () => {
  assert.deepEqual(splitHostPort("manager-1:4242"), { host: "manager-1", port: 4242 });
  assert.deepEqual(splitHostPort("10.0.0.1:1"), { host: "10.0.0.1", port: 1 });
  assert.deepEqual(splitHostPort("[::1]:65535"), { host: "::1", port: 65535 });
  for (
    const bad of ["host", "host:0", "host:65536", ":80", "::1:80", "[nothex]:80", "a b:80", "h:-1"]
  ) {
    assert.equal(splitHostPort(bad), undefined, bad);
  }
  assert.equal(isIpv6("fe80::1"), true);
  assert.equal(isIpv6("1:2:3"), true);
  assert.equal(isIpv6("1::2::3"), false);
});

Deno.test("parseCidr accepts networks and rejects host bits", () => {
  assert.deepEqual(parseCidr("10.240.0.0/16"), { address: 0x0af00000, prefixBits: 16 });
  assert.deepEqual(parseCidr("0.0.0.0/0"), { address: 0, prefixBits: 0 });
  assert.deepEqual(parseCidr("10.0.0.1/32"), { address: 0x0a000001, prefixBits: 32 });
  for (const bad of ["10.240.0.1/16", "10.0.0.0/33", "10.0.0/8", "300.0.0.0/8", "10.0.0.0"]) {
    assert.equal(parseCidr(bad), undefined, bad);
  }
});

Deno.test("base64 round-trips bytes of every value and large inputs", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(decodeBase64(encodeBase64(all)), all);
  const big = new Uint8Array(200_000).map((_, i) => (i * 31) & 0xff);
  const text = encodeBase64(big);
  assert.equal(base64DecodedLength(text), big.length);
  assert.deepEqual(decodeBase64(text), big);
  for (const n of [0, 1, 2, 3, 4]) {
    assert.equal(base64DecodedLength(encodeBase64(new Uint8Array(n))), n);
  }
  assert.throws(() => decodeBase64("!!!"), TypeError);
});
