import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeHandshake,
  decodeNotice,
  encodeFrames,
  encodeHandshake,
  encodeNotice,
  framedSize,
  FrameReader,
  MAX_FRAME_BYTES,
} from "./frame.ts";
import { ValidationError } from "../../proto/errors.ts";

const bytes = (...v: number[]) => new Uint8Array(v);

Deno.test("frame: frames split across reads and merged into one read come out whole", () => {
  const payloads = [bytes(1, 2, 3), bytes(), bytes(9), new Uint8Array(1000).fill(7)];
  const wire = encodeFrames(payloads);
  assert.equal(wire.byteLength, framedSize(payloads));
  // All in one read.
  assert.deepEqual(new FrameReader().push(wire), payloads);
  // One byte per read: every frame (and every length prefix) spans reads.
  const r = new FrameReader();
  const out: Uint8Array[] = [];
  for (let i = 0; i < wire.byteLength; i++) out.push(...r.push(wire.subarray(i, i + 1)));
  assert.deepEqual(out, payloads);
  assert.equal(r.bufferedBytes, 0);
});

Deno.test("frame: any split of any frames reassembles them (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (payloads, cuts) => {
        const wire = encodeFrames(payloads);
        const points = [...new Set(cuts.map((c) => c % (wire.byteLength + 1)))].sort((a, b) =>
          a - b
        );
        const r = new FrameReader();
        const out: Uint8Array[] = [];
        let at = 0;
        for (const p of [...points, wire.byteLength]) {
          out.push(...r.push(wire.subarray(at, p)));
          at = p;
        }
        assert.deepEqual(out, payloads);
        assert.equal(r.bufferedBytes, 0);
      },
    ),
  );
});

Deno.test("frame: payloads are copies, unaffected when the read buffer is reused", () => {
  const wire = encodeFrames([bytes(1, 2), bytes(3, 4)]);
  const [a, b] = new FrameReader().push(wire);
  wire.fill(0);
  assert.deepEqual([a, b], [bytes(1, 2), bytes(3, 4)]);
});

Deno.test("frame: a length past the bound is refused before it is buffered", () => {
  const r = new FrameReader({ maxFrameBytes: 8 });
  assert.deepEqual(r.push(encodeFrames([new Uint8Array(8)])), [new Uint8Array(8)]);
  assert.throws(() => r.push(bytes(0, 0, 0, 9)), ValidationError);
  // The default bound is 16 MiB: a prefix announcing 4 GiB fails at once.
  assert.throws(() => new FrameReader().push(bytes(0xff, 0xff, 0xff, 0xff)), /exceeds/);
  assert.throws(() => encodeFrames([new Uint8Array(MAX_FRAME_BYTES + 1)]), ValidationError);
});

Deno.test("frame: the handshake round-trips and rejects anything else", () => {
  const h = { clusterId: "c-1", fromId: "mañana", toId: "m2" };
  assert.deepEqual(decodeHandshake(encodeHandshake(h)), h);
  assert.deepEqual(decodeHandshake(encodeHandshake({ clusterId: "", fromId: "", toId: "" })), {
    clusterId: "",
    fromId: "",
    toId: "",
  });
  const good = encodeHandshake(h);
  assert.throws(() => decodeHandshake(bytes(1, 2, 3, 4, 5)), /not a Warren Raft handshake/);
  const v2 = good.slice();
  v2[4] = 2;
  assert.throws(() => decodeHandshake(v2), /version 2/);
  assert.throws(() => decodeHandshake(good.subarray(0, good.byteLength - 1)), /truncated/);
  assert.throws(() => decodeHandshake(new Uint8Array([...good, 0])), /trailing/);
  assert.throws(
    () => encodeHandshake({ ...h, fromId: "x".repeat(2000) }),
    (e) => e instanceof ValidationError && e.field === "fromId",
  );
});

Deno.test("frame: a notice round-trips; a handshake, another version or an unknown kind is refused", () => {
  assert.deepEqual(decodeNotice(encodeNotice({ kind: "removed" })), { kind: "removed" });
  const wire = encodeNotice({ kind: "removed" });
  for (
    const bad of [
      encodeHandshake({ clusterId: "c", fromId: "a", toId: "b" }),
      wire.slice(0, wire.byteLength - 1),
      Uint8Array.from(wire, (b, i) => i === 4 ? 9 : b),
      Uint8Array.from(wire, (b, i) => i === 5 ? 0 : b),
      Uint8Array.from(wire, (b, i) => i === 5 ? 2 : b),
    ]
  ) {
    assert.throws(() => decodeNotice(bad), ValidationError);
  }
});
