/**
 * The conformance suite every {@link WritableStorage} passes: MemoryStorage here, the Deno KV store
 * elsewhere. It is pure (no Deno APIs): the caller hands in its test context, e.g.
 *
 * ```ts
 * Deno.test("MemoryStorage conformance", (t) =>
 *   runStorageConformance("memory", async () => new MemoryStorage(), t));
 * ```
 * @module
 */
import { CompactedError, LogUnavailableError, SnapshotOutOfDateError } from "./errors.ts";
import type { WritableStorage } from "./storage.ts";
import type { ConfState, Entry } from "./types.ts";

/** The part of Deno.TestContext the suite needs: running named sub-steps. */
export interface TestStepper {
  step(name: string, fn: () => void | Promise<void>): Promise<boolean>;
}

/** Runs every conformance case as a sub-step of `t`, each against a fresh storage from `make`. */
export async function runStorageConformance(
  name: string,
  make: () => Promise<WritableStorage>,
  t: TestStepper,
): Promise<void> {
  for (const [caseName, fn] of Object.entries(CASES)) {
    const ok = await t.step(`${name}: ${caseName}`, async () => await fn(await make()));
    if (!ok) throw new Error(`storage conformance "${name}" failed: ${caseName}`);
  }
}

const enc = new TextEncoder();

function ent(index: number, term: number, data = ""): Entry {
  return { index, term, type: "normal", data: enc.encode(data) };
}

function ents(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(ent(i, term, `e${i}`));
  return out;
}

function eq(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual, bytesAsText), e = JSON.stringify(expected, bytesAsText);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

function bytesAsText(_k: string, v: unknown): unknown {
  return v instanceof Uint8Array ? `bytes:${new TextDecoder().decode(v)}` : v;
}

function throwsKind(
  fn: () => unknown,
  kind: abstract new (...args: never[]) => Error,
  what: string,
): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof kind) return;
    throw new Error(`${what}: expected ${kind.name}, got ${String(err)}`);
  }
  throw new Error(`${what}: expected ${kind.name}, nothing was thrown`);
}

async function rejectsKind(
  fn: () => unknown,
  kind: abstract new (...args: never[]) => Error,
  what: string,
): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof kind) return;
    throw new Error(`${what}: expected ${kind.name}, got ${String(err)}`);
  }
  throw new Error(`${what}: expected ${kind.name}, nothing was thrown`);
}

const CONF: ConfState = { voters: ["a", "b", "c"], learners: ["d"] };

const CASES: Record<string, (s: WritableStorage) => Promise<void>> = {
  "a fresh storage is empty": async (s) => {
    await Promise.resolve();
    eq(s.firstIndex(), 1, "firstIndex");
    eq(s.lastIndex(), 0, "lastIndex");
    eq(s.term(0), 0, "term(0)");
    eq(s.initialState(), {
      hardState: { term: 0, vote: "", commit: 0 },
      confState: { voters: [], learners: [] },
    }, "initialState");
    eq(s.snapshot().meta.index, 0, "snapshot index");
    eq(s.entries(1, 1, Infinity), [], "entries(1, 1)");
    throwsKind(() => s.term(1), LogUnavailableError, "term(1)");
  },
  "appended entries are readable": async (s) => {
    await s.append(ents(1, 5, 1));
    eq(s.firstIndex(), 1, "firstIndex");
    eq(s.lastIndex(), 5, "lastIndex");
    eq(s.term(3), 1, "term(3)");
    eq(s.entries(2, 4, Infinity), ents(2, 3, 1), "entries(2, 4)");
    eq(s.entries(1, 6, Infinity), ents(1, 5, 1), "entries(1, 6)");
    throwsKind(() => s.term(6), LogUnavailableError, "term(6)");
    throwsKind(() => s.entries(1, 7, Infinity), LogUnavailableError, "entries(1, 7)");
  },
  "entries respects maxSizeBytes but returns at least one": async (s) => {
    await s.append(ents(1, 5, 1));
    eq(s.entries(1, 6, 0).length, 1, "maxSize 0");
    const one = s.entries(1, 2, Infinity)[0];
    const size = one.data.byteLength + 16;
    eq(s.entries(1, 6, size * 2).length, 2, "maxSize of two entries");
    eq(s.entries(1, 6, size * 2 + 1).length, 2, "maxSize just above two entries");
  },
  "append replaces a conflicting suffix": async (s) => {
    await s.append(ents(1, 5, 1));
    await s.append([ent(3, 2, "x3"), ent(4, 2, "x4")]);
    eq(s.lastIndex(), 4, "lastIndex after truncation");
    eq(s.entries(1, 5, Infinity), [...ents(1, 2, 1), ent(3, 2, "x3"), ent(4, 2, "x4")], "log");
    await s.append([ent(5, 2, "x5")]);
    eq(s.lastIndex(), 5, "lastIndex after extension");
  },
  "append with a gap is refused": async (s) => {
    await s.append(ents(1, 2, 1));
    await rejectsKind(() => s.append([ent(4, 1)]), Error, "append at 4 after 2");
  },
  "hard state round-trips": async (s) => {
    await s.setHardState({ term: 3, vote: "b", commit: 7 });
    eq(s.initialState().hardState, { term: 3, vote: "b", commit: 7 }, "hardState");
    await s.setHardState({ term: 4, vote: "", commit: 9 });
    eq(s.initialState().hardState, { term: 4, vote: "", commit: 9 }, "hardState overwritten");
  },
  "createSnapshot and compact drop the prefix": async (s) => {
    await s.append(ents(1, 3, 1));
    await s.append(ents(4, 6, 2));
    const snap = await s.createSnapshot(4, CONF, enc.encode("state@4"));
    eq(snap.meta, { index: 4, term: 2, confState: CONF }, "created snapshot meta");
    eq(s.snapshot().meta, snap.meta, "snapshot()");
    eq(s.snapshot().data, enc.encode("state@4"), "snapshot data");
    eq(s.initialState().confState, CONF, "initialState confState");
    eq(s.firstIndex(), 1, "createSnapshot alone does not compact");
    await s.compact(4);
    eq(s.firstIndex(), 5, "firstIndex after compact");
    eq(s.lastIndex(), 6, "lastIndex after compact");
    eq(s.term(4), 2, "term of the compaction point");
    throwsKind(() => s.term(3), CompactedError, "term(3)");
    throwsKind(() => s.entries(4, 6, Infinity), CompactedError, "entries(4, 6)");
    eq(s.entries(5, 7, Infinity), ents(5, 6, 2), "entries(5, 7)");
    await rejectsKind(() => s.compact(4), CompactedError, "compact(4) again");
    await rejectsKind(
      () => s.createSnapshot(3, CONF, new Uint8Array()),
      SnapshotOutOfDateError,
      "older snapshot",
    );
  },
  "append ignores the compacted prefix": async (s) => {
    await s.append(ents(1, 5, 1));
    await s.createSnapshot(3, CONF, new Uint8Array());
    await s.compact(3);
    await s.append([
      ent(2, 1, "e2"),
      ent(3, 1, "e3"),
      ent(4, 1, "e4"),
      ent(5, 2, "y5"),
      ent(6, 2, "y6"),
    ]);
    eq(s.firstIndex(), 4, "firstIndex");
    eq(s.entries(4, 7, Infinity), [ent(4, 1, "e4"), ent(5, 2, "y5"), ent(6, 2, "y6")], "log");
    await s.append(ents(1, 2, 1));
    eq(s.lastIndex(), 6, "appending only compacted entries changes nothing");
  },
  "applySnapshot replaces the log": async (s) => {
    await s.append(ents(1, 5, 1));
    await s.applySnapshot({
      meta: { index: 10, term: 3, confState: CONF },
      data: enc.encode("s10"),
    });
    eq(s.firstIndex(), 11, "firstIndex");
    eq(s.lastIndex(), 10, "lastIndex");
    eq(s.term(10), 3, "term(10)");
    throwsKind(() => s.term(9), CompactedError, "term(9)");
    eq(s.snapshot().data, enc.encode("s10"), "snapshot data");
    eq(s.initialState().confState, CONF, "confState");
    await s.append(ents(11, 12, 3));
    eq(s.entries(11, 13, Infinity), ents(11, 12, 3), "entries after the snapshot");
    await rejectsKind(
      () =>
        s.applySnapshot({ meta: { index: 9, term: 3, confState: CONF }, data: new Uint8Array() }),
      SnapshotOutOfDateError,
      "older applySnapshot",
    );
  },
};
