import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeConfChange,
  decodeEntry,
  decodeEntryRun,
  decodeHardState,
  decodeMessage,
  decodeMessages,
  decodeSnapshotMeta,
  encodeConfChange,
  encodeEntry,
  encodeEntryRun,
  encodeHardState,
  encodeMessage,
  encodeMessages,
  encodeSnapshotMeta,
} from "./codec.ts";
import type { Message } from "./messages.ts";
import type { Entry } from "./types.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const ent = (index: number, term: number, data: string, type: Entry["type"] = "normal"): Entry => ({
  index,
  term,
  type,
  data: bytes(data),
});
const meta = { index: 12, term: 3, confState: { voters: ["a", "b"], learners: ["c"] } };

/** One message of every type. */
const SAMPLES: Message[] = [
  {
    type: "MsgApp",
    from: "a",
    to: "b",
    term: 3,
    index: 10,
    logTerm: 2,
    commit: 9,
    entries: [ent(11, 3, "x"), ent(12, 3, "", "confChange")],
  },
  {
    type: "MsgAppResp",
    from: "b",
    to: "a",
    term: 3,
    index: 10,
    reject: true,
    rejectHint: 7,
    logTerm: 2,
  },
  { type: "MsgVote", from: "a", to: "b", term: 4, index: 10, logTerm: 3, transfer: true },
  { type: "MsgVoteResp", from: "b", to: "a", term: 4, reject: false },
  { type: "MsgPreVote", from: "a", to: "b", term: 5, index: 10, logTerm: 3, transfer: false },
  { type: "MsgPreVoteResp", from: "b", to: "a", term: 5, reject: true },
  { type: "MsgHeartbeat", from: "a", to: "b", term: 3, commit: 9, context: "read-1" },
  { type: "MsgHeartbeatResp", from: "b", to: "a", term: 3, context: "" },
  {
    type: "MsgSnap",
    from: "a",
    to: "b",
    term: 3,
    meta,
    offset: 512,
    totalBytes: 2048,
    data: bytes("chunk"),
    done: false,
  },
  {
    type: "MsgSnapAck",
    from: "b",
    to: "a",
    term: 3,
    snapIndex: 12,
    snapTerm: 3,
    offset: 1024,
    reject: false,
  },
  { type: "MsgSnapStatus", from: "b", to: "a", term: 0, reject: true },
  { type: "MsgUnreachable", from: "b", to: "a", term: 0 },
  { type: "MsgTimeoutNow", from: "a", to: "b", term: 3 },
  { type: "MsgReadIndex", from: "b", to: "a", term: 0, context: "ünïcode ctx" },
  { type: "MsgReadIndexResp", from: "a", to: "b", term: 3, index: 9, context: "ctx" },
  { type: "MsgTransferLeader", from: "c", to: "a", term: 0 },
  { type: "MsgProp", from: "b", to: "a", term: 0, entries: [ent(0, 0, "proposal")] },
];

Deno.test("codec: every message type round-trips, alone and in a batch", () => {
  for (const m of SAMPLES) assert.deepEqual(decodeMessage(encodeMessage(m)), m, m.type);
  assert.deepEqual(decodeMessages(encodeMessages(SAMPLES)), SAMPLES);
  assert.deepEqual(decodeMessages(encodeMessages([])), []);
});

Deno.test("codec: large indexes and big payloads survive", () => {
  const big = new Uint8Array(300_000).map((_, i) => i % 251);
  const m: Message = {
    type: "MsgApp",
    from: "node-1",
    to: "node-2",
    term: 2 ** 40,
    index: Number.MAX_SAFE_INTEGER - 1,
    logTerm: 2 ** 33,
    commit: 2 ** 52,
    entries: [{ index: Number.MAX_SAFE_INTEGER, term: 2 ** 40, type: "normal", data: big }],
  };
  assert.deepEqual(decodeMessage(encodeMessage(m)), m);
});

Deno.test("codec: malformed input is a ValidationError, not a crash", () => {
  const good = encodeMessages(SAMPLES);
  for (const cut of [0, 1, 5, good.length - 1]) {
    assert.throws(() => decodeMessages(good.subarray(0, cut)), { name: "ValidationError" });
  }
  assert.throws(() => decodeMessages(new Uint8Array([9, 0])), /version/);
  assert.throws(() => decodeMessages(new Uint8Array([1, 1, 99])), /type code/);
  const trailing = new Uint8Array([...encodeMessages([]), 0]);
  assert.throws(() => decodeMessages(trailing), /trailing/);
});

Deno.test("codec: conf changes, entries, snapshot metadata and hard states round-trip", () => {
  const cc = { type: "addLearner" as const, nodeId: "node-9", context: bytes("10.0.0.9:4242") };
  assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
  const e = ent(7, 2, "payload", "confChange");
  assert.deepEqual(decodeEntry(encodeEntry(e)), e);
  const run = [ent(8, 2, "a"), ent(9, 3, "", "normal"), ent(10, 3, "c", "confChange")];
  assert.deepEqual(decodeEntryRun(encodeEntryRun(run)), run);
  assert.deepEqual(decodeEntryRun(encodeEntryRun([])), []);
  const whole = encodeEntryRun(run);
  assert.throws(() => decodeEntryRun(whole.subarray(0, whole.byteLength - 1)), /truncated/);
  assert.deepEqual(decodeSnapshotMeta(encodeSnapshotMeta(meta)), meta);
  const hs = { term: 5, vote: "b", commit: 99 };
  assert.deepEqual(decodeHardState(encodeHardState(hs)), hs);
});

Deno.test("codec: random MsgApp round-trips (property)", () => {
  const entry = fc.record({
    index: fc.nat(),
    term: fc.nat(),
    type: fc.constantFrom("normal" as const, "confChange" as const),
    data: fc.uint8Array({ maxLength: 64 }),
  });
  fc.assert(fc.property(
    fc.record({
      from: fc.string(),
      to: fc.string(),
      term: fc.nat(),
      index: fc.nat(),
      logTerm: fc.nat(),
      commit: fc.nat(),
      entries: fc.array(entry, { maxLength: 8 }),
    }),
    (r) => {
      const m: Message = { type: "MsgApp", ...r, entries: r.entries.map((e) => ({ ...e })) };
      assert.deepEqual(decodeMessage(encodeMessage(m)), m);
    },
  ));
});
