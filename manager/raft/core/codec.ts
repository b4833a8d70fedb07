/**
 * Compact binary codec for Raft messages (the gRPC transport sends batches of them as bytes), for
 * configuration changes stored in entries, and for the records a persistent storage writes.
 *
 * Format: a batch is `version(1) count(uvarint) message*`; a message is `type(u8) from(str) to(str)
 * term(uvarint)` followed by its type's fields in declaration order. Byte fields of decoded values
 * are views into the input buffer (no copy): do not reuse the buffer afterwards.
 * @module
 */
import { ValidationError } from "../../../proto/errors.ts";
import { ByteReader, ByteWriter } from "./_bytes.ts";
import type { Message, MessageType } from "./messages.ts";
import type {
  ConfChange,
  ConfChangeType,
  ConfState,
  Entry,
  HardState,
  SnapshotMeta,
} from "./types.ts";

const VERSION = 1;

// Never renumber: the codes are on the wire.
const TYPE_CODES: Record<MessageType, number> = {
  MsgApp: 1,
  MsgAppResp: 2,
  MsgVote: 3,
  MsgVoteResp: 4,
  MsgPreVote: 5,
  MsgPreVoteResp: 6,
  MsgHeartbeat: 7,
  MsgHeartbeatResp: 8,
  MsgSnap: 9,
  MsgSnapAck: 10,
  MsgSnapStatus: 11,
  MsgUnreachable: 12,
  MsgTimeoutNow: 13,
  MsgReadIndex: 14,
  MsgReadIndexResp: 15,
  MsgTransferLeader: 16,
  MsgProp: 17,
};
const TYPES_BY_CODE = new Map<number, MessageType>(
  Object.entries(TYPE_CODES).map(([t, c]) => [c, t as MessageType]),
);
const CC_TYPES: ConfChangeType[] = ["addNode", "addLearner", "removeNode"];

/** Encodes a batch of messages. */
export function encodeMessages(msgs: readonly Message[]): Uint8Array {
  const w = new ByteWriter(64 + 64 * msgs.length);
  w.u8(VERSION);
  w.uvarint(msgs.length);
  for (const m of msgs) writeMessage(w, m);
  return w.finish();
}

/** Decodes a batch encoded by {@link encodeMessages}; throws ValidationError when malformed. */
export function decodeMessages(buf: Uint8Array): Message[] {
  const r = new ByteReader(buf);
  const v = r.u8();
  if (v !== VERSION) throw new ValidationError("message", `unsupported raft codec version ${v}`);
  const n = r.uvarint();
  const out: Message[] = [];
  for (let i = 0; i < n; i++) out.push(readMessage(r));
  if (!r.done()) throw new ValidationError("message", "trailing bytes after the last message");
  return out;
}

/** Encodes one message (a batch of one). */
export function encodeMessage(m: Message): Uint8Array {
  return encodeMessages([m]);
}

/** Decodes one message encoded by {@link encodeMessage}. */
export function decodeMessage(buf: Uint8Array): Message {
  const msgs = decodeMessages(buf);
  if (msgs.length !== 1) {
    throw new ValidationError("message", `expected 1 message, got ${msgs.length}`);
  }
  return msgs[0];
}

function writeMessage(w: ByteWriter, m: Message): void {
  w.u8(TYPE_CODES[m.type]);
  w.str(m.from);
  w.str(m.to);
  w.uvarint(m.term);
  switch (m.type) {
    case "MsgApp":
      w.uvarint(m.index), w.uvarint(m.logTerm), w.uvarint(m.commit), writeEntries(w, m.entries);
      return;
    case "MsgAppResp":
      w.uvarint(m.index), w.bool(m.reject), w.uvarint(m.rejectHint), w.uvarint(m.logTerm);
      return;
    case "MsgVote":
    case "MsgPreVote":
      w.uvarint(m.index), w.uvarint(m.logTerm), w.bool(m.transfer);
      return;
    case "MsgVoteResp":
    case "MsgPreVoteResp":
    case "MsgSnapStatus":
      w.bool(m.reject);
      return;
    case "MsgHeartbeat":
      w.uvarint(m.commit), w.str(m.context);
      return;
    case "MsgHeartbeatResp":
    case "MsgReadIndex":
      w.str(m.context);
      return;
    case "MsgSnap":
      writeSnapshotMeta(w, m.meta), w.uvarint(m.offset), w.uvarint(m.totalBytes), w.bytes(m.data);
      w.bool(m.done);
      return;
    case "MsgSnapAck":
      w.uvarint(m.snapIndex), w.uvarint(m.snapTerm), w.uvarint(m.offset), w.bool(m.reject);
      return;
    case "MsgReadIndexResp":
      w.uvarint(m.index), w.str(m.context);
      return;
    case "MsgProp":
      writeEntries(w, m.entries);
      return;
    case "MsgUnreachable":
    case "MsgTimeoutNow":
    case "MsgTransferLeader":
      return;
  }
}

function readMessage(r: ByteReader): Message {
  const code = r.u8();
  const type = TYPES_BY_CODE.get(code);
  if (!type) throw new ValidationError("message", `unknown raft message type code ${code}`);
  const base = { from: r.str(), to: r.str(), term: r.uvarint() };
  switch (type) {
    case "MsgApp":
      return {
        type,
        ...base,
        index: r.uvarint(),
        logTerm: r.uvarint(),
        commit: r.uvarint(),
        entries: readEntries(r),
      };
    case "MsgAppResp":
      return {
        type,
        ...base,
        index: r.uvarint(),
        reject: r.bool(),
        rejectHint: r.uvarint(),
        logTerm: r.uvarint(),
      };
    case "MsgVote":
    case "MsgPreVote":
      return { type, ...base, index: r.uvarint(), logTerm: r.uvarint(), transfer: r.bool() };
    case "MsgVoteResp":
    case "MsgPreVoteResp":
    case "MsgSnapStatus":
      return { type, ...base, reject: r.bool() };
    case "MsgHeartbeat":
      return { type, ...base, commit: r.uvarint(), context: r.str() };
    case "MsgHeartbeatResp":
    case "MsgReadIndex":
      return { type, ...base, context: r.str() };
    case "MsgSnap":
      return {
        type,
        ...base,
        meta: readSnapshotMeta(r),
        offset: r.uvarint(),
        totalBytes: r.uvarint(),
        data: r.bytes(),
        done: r.bool(),
      };
    case "MsgSnapAck":
      return {
        type,
        ...base,
        snapIndex: r.uvarint(),
        snapTerm: r.uvarint(),
        offset: r.uvarint(),
        reject: r.bool(),
      };
    case "MsgReadIndexResp":
      return { type, ...base, index: r.uvarint(), context: r.str() };
    case "MsgProp":
      return { type, ...base, entries: readEntries(r) };
    case "MsgUnreachable":
    case "MsgTimeoutNow":
    case "MsgTransferLeader":
      return { type, ...base };
  }
}

function writeEntry(w: ByteWriter, e: Entry): void {
  w.uvarint(e.index), w.uvarint(e.term), w.u8(e.type === "normal" ? 0 : 1), w.bytes(e.data);
}

function readEntry(r: ByteReader): Entry {
  const index = r.uvarint(), term = r.uvarint(), t = r.u8();
  if (t > 1) throw new ValidationError("entry.type", `unknown entry type code ${t}`);
  return { index, term, type: t === 0 ? "normal" : "confChange", data: r.bytes() };
}

function writeEntries(w: ByteWriter, ents: readonly Entry[]): void {
  w.uvarint(ents.length);
  for (const e of ents) writeEntry(w, e);
}

function readEntries(r: ByteReader): Entry[] {
  const n = r.uvarint();
  const out: Entry[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = readEntry(r);
  return out;
}

function writeIds(w: ByteWriter, ids: readonly string[]): void {
  w.uvarint(ids.length);
  for (const id of ids) w.str(id);
}

function readIds(r: ByteReader): string[] {
  const n = r.uvarint();
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(r.str());
  return out;
}

function writeSnapshotMeta(w: ByteWriter, m: SnapshotMeta): void {
  w.uvarint(m.index),
    w.uvarint(m.term),
    writeIds(w, m.confState.voters),
    writeIds(w, m.confState.learners);
}

function readSnapshotMeta(r: ByteReader): SnapshotMeta {
  const index = r.uvarint(), term = r.uvarint();
  const confState: ConfState = { voters: readIds(r), learners: readIds(r) };
  return { index, term, confState };
}

/** Encodes a membership change for an entry of type `confChange`. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const w = new ByteWriter(32 + cc.context.byteLength);
  w.u8(VERSION), w.u8(CC_TYPES.indexOf(cc.type)), w.str(cc.nodeId), w.bytes(cc.context);
  return w.finish().slice();
}

/** Decodes a membership change from a `confChange` entry's data. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const r = new ByteReader(data);
  const v = r.u8();
  if (v !== VERSION) throw new ValidationError("confChange", `unsupported version ${v}`);
  const t = CC_TYPES[r.u8()];
  if (!t) throw new ValidationError("confChange.type", "unknown conf change type");
  return { type: t, nodeId: r.str(), context: r.bytes() };
}

/** Encodes one entry (for persistent storage records). */
export function encodeEntry(e: Entry): Uint8Array {
  const w = new ByteWriter(24 + e.data.byteLength);
  writeEntry(w, e);
  return w.finish().slice();
}

/** Decodes an entry encoded by {@link encodeEntry}. */
export function decodeEntry(buf: Uint8Array): Entry {
  return readEntry(new ByteReader(buf));
}

/**
 * Encodes consecutive entries as one record (persistent storage writes a Ready's entries as one
 * value: one row per write instead of one per entry).
 */
export function encodeEntryRun(ents: readonly Entry[]): Uint8Array {
  let size = 8;
  for (const e of ents) size += 24 + e.data.byteLength;
  const w = new ByteWriter(size);
  w.uvarint(ents.length);
  for (const e of ents) writeEntry(w, e);
  return w.finish();
}

/** Decodes a record of {@link encodeEntryRun}; throws ValidationError when it is cut short. */
export function decodeEntryRun(buf: Uint8Array): Entry[] {
  const r = new ByteReader(buf);
  const n = r.uvarint();
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) out.push(readEntry(r));
  if (!r.done()) throw new ValidationError("entries", "trailing bytes after the last entry");
  return out;
}

/** Encodes snapshot metadata (for persistent storage records). */
export function encodeSnapshotMeta(m: SnapshotMeta): Uint8Array {
  const w = new ByteWriter(64);
  writeSnapshotMeta(w, m);
  return w.finish().slice();
}

/** Decodes snapshot metadata encoded by {@link encodeSnapshotMeta}. */
export function decodeSnapshotMeta(buf: Uint8Array): SnapshotMeta {
  return readSnapshotMeta(new ByteReader(buf));
}

/** Encodes a hard state (for persistent storage records). */
export function encodeHardState(hs: HardState): Uint8Array {
  const w = new ByteWriter(32);
  w.uvarint(hs.term), w.str(hs.vote), w.uvarint(hs.commit);
  return w.finish().slice();
}

/** Decodes a hard state encoded by {@link encodeHardState}. */
export function decodeHardState(buf: Uint8Array): HardState {
  const r = new ByteReader(buf);
  return { term: r.uvarint(), vote: r.str(), commit: r.uvarint() };
}
