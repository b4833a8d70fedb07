import assert from "node:assert/strict";
import { children, expect, int, oid, oidText, read, seq, Tag, time, tlv, uint } from "./der.ts";

Deno.test("der: lengths use the short form below 128 and the long form above", () => {
  assert.deepEqual([...tlv(Tag.octetString, new Uint8Array(3))].slice(0, 2), [0x04, 3]);
  const big = tlv(Tag.octetString, new Uint8Array(300));
  assert.deepEqual([...big.subarray(0, 4)], [0x04, 0x82, 0x01, 0x2c]);
  const back = read(big);
  assert.equal(back.content.length, 300);
  assert.equal(back.der.length, big.length);
});

Deno.test("der: integers are minimal and positive", () => {
  assert.deepEqual([...int(0)], [0x02, 1, 0]);
  assert.deepEqual([...int(2)], [0x02, 1, 2]);
  assert.deepEqual([...int(128)], [0x02, 2, 0, 0x80]);
  assert.deepEqual([...uint(Uint8Array.of(0, 0, 0x7f))], [0x02, 1, 0x7f]);
  assert.deepEqual([...uint(Uint8Array.of(0xff))], [0x02, 2, 0, 0xff]);
});

Deno.test("der: object identifiers round-trip, including multi-byte arcs", () => {
  for (const id of ["2.5.29.19", "1.2.840.10045.4.3.2", "1.3.6.1.5.5.7.3.2", "2.999.3"]) {
    assert.equal(oidText(read(oid(id))), id);
  }
  assert.deepEqual([...oid("1.2.840.10045.4.3.2")], [6, 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 4, 3, 2]);
});

Deno.test("der: times are UTCTime before 2050 and GeneralizedTime after", () => {
  const t1 = read(time(Date.UTC(2030, 0, 2, 3, 4, 5, 999)));
  assert.equal(t1.tag, Tag.utcTime);
  assert.equal(new TextDecoder().decode(t1.content), "300102030405Z");
  const t2 = read(time(Date.UTC(2050, 0, 1)));
  assert.equal(t2.tag, Tag.generalizedTime);
  assert.equal(new TextDecoder().decode(t2.content), "20500101000000Z");
});

Deno.test("der: children walks a constructed value; truncation and trailing bytes are refused", () => {
  const s = seq(int(1), oid("2.5.4.3"), seq());
  assert.deepEqual(children(read(s)).map((n) => n.tag), [Tag.integer, Tag.oid, Tag.sequence]);
  assert.throws(() => read(s.subarray(0, s.length - 1)), /truncated/);
  assert.throws(() => expect(Uint8Array.of(...s, 0), Tag.sequence, "x"), /x is not a single/);
  assert.throws(() => expect(s, Tag.set, "y"), /y is not a single 0x31/);
});
