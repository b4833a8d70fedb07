/**
 * Raft's persistent storage on Deno KV, with an in-memory mirror ({@link MemoryStorage}) that
 * answers the pure core's synchronous reads. Every write is durable in KV before the mirror
 * changes, so the mirror never shows what a crash could lose.
 *
 * Layout under `prefix` (values of at most 64 KiB, so large entries and snapshots are chunked):
 * ```
 * meta                      {epoch, snapGen, snapChunks, snapMeta, compactIndex, compactTerm}
 * hs                        encoded HardState
 * r, epoch, start, part     a run: consecutive entries from `start`, written together by one
 *                           persist (codec encodeEntryRun), split in parts of CHUNK_BYTES
 * e, epoch, index, part     one encoded Entry (the layout before runs; read, and collected)
 * s, gen, chunk             snapshot data chunks of generation `gen`
 * ```
 * One run per persist makes a write cost one row, not one per entry. Runs may overlap: a write
 * that replaces a conflicting suffix from index i deletes every run starting at or after i, and
 * the run that straddles i keeps its stale tail, which the new run (starting later) overrides.
 * So runs in start order are runs in write order, and loading them by appending each in turn
 * (an append truncates what follows its first index) rebuilds the log. A run whose parts are
 * incomplete (a crash between two commits of one large write) is the last one written: loading
 * stops there; nothing it held was acknowledged, since the hard state is written last.
 * Installing a snapshot from the leader replaces the whole log: it starts a new `epoch`, so
 * flipping `meta` is the single atomic step and entries of older epochs are garbage (collected
 * right after, and again at open if a crash interrupted it). Compaction records `compactIndex`
 * in `meta` first, then deletes; entries at or below it are ignored when loading.
 * @module
 */
import {
  decodeEntry,
  decodeEntryRun,
  decodeHardState,
  encodeEntryRun,
  encodeHardState,
} from "./core/codec.ts";
import { MemoryStorage } from "./core/memory_storage.ts";
import { CompactedError, SnapshotOutOfDateError } from "./core/errors.ts";
import type { InitialState, WritableStorage } from "./core/storage.ts";
import type { ConfState, Entry, HardState, Snapshot, SnapshotMeta } from "./core/types.ts";
import { FailedPreconditionError } from "../../proto/errors.ts";

/** Largest value written: below Deno KV's 64 KiB limit. */
const CHUNK_BYTES = 60 * 1024;
/** Limits of one atomic commit, well inside Deno KV's (1000 mutations, 800 KiB). */
const MAX_MUTATIONS = 500;
const MAX_BATCH_BYTES = 640 * 1024;
/**
 * Encoded size past which a write's entries go in several runs (a run may still straddle two
 * commits, or exceed this with one large entry: a crash then leaves a torn last run).
 */
const RUN_BYTES = 240 * 1024;

interface Meta {
  epoch: number;
  snapGen: number;
  snapChunks: number;
  snapMeta: SnapshotMeta;
  compactIndex: number;
  compactTerm: number;
}

type Mutation = { key: Deno.KvKey; value: unknown; size: number } | {
  key: Deno.KvKey;
  delete: true;
};

/** Raft storage persisted in Deno KV. Open with {@link KvStorage.open}. */
export class KvStorage implements WritableStorage {
  readonly #kv: Deno.Kv;
  readonly #p: Deno.KvKey;
  #meta: Meta;
  #mem: MemoryStorage;

  private constructor(kv: Deno.Kv, prefix: Deno.KvKey, meta: Meta, mem: MemoryStorage) {
    this.#kv = kv;
    this.#p = prefix;
    this.#meta = meta;
    this.#mem = mem;
  }

  /** Loads the stored state (collecting garbage a crash left) and returns the storage. */
  static async open(kv: Deno.Kv, prefix: Deno.KvKey = ["raft"]): Promise<KvStorage> {
    const metaRes = await kv.get<Meta>([...prefix, "meta"]);
    const meta: Meta = metaRes.value ?? {
      epoch: 0,
      snapGen: 0,
      snapChunks: 0,
      snapMeta: { index: 0, term: 0, confState: { voters: [], learners: [] } },
      compactIndex: 0,
      compactTerm: 0,
    };
    // The mirror starts at the compaction point; a later snapshot (created, not yet compacted to)
    // is recorded on top once the entries it covers are back.
    const mem = new MemoryStorage();
    const snapData = meta.snapMeta.index > 0
      ? await readChunks(kv, [...prefix, "s", meta.snapGen], meta.snapChunks)
      : new Uint8Array();
    if (meta.compactIndex === meta.snapMeta.index && meta.snapMeta.index > 0) {
      mem.applySnapshot({ meta: meta.snapMeta, data: snapData });
    } else if (meta.compactIndex > 0) {
      mem.applySnapshot({
        meta: {
          index: meta.compactIndex,
          term: meta.compactTerm,
          confState: meta.snapMeta.confState,
        },
        data: new Uint8Array(),
      });
    }
    const hs = await kv.get<Uint8Array>([...prefix, "hs"]);
    if (hs.value) {
      // A snapshot holds applied, hence committed, entries. Data written before the shell made
      // the commit index durable ahead of its snapshots may have the commit behind the snapshot,
      // which the core refuses to start from ("applied beyond commit"): the snapshot is proof.
      const h = decodeHardState(hs.value);
      mem.setHardState({ ...h, commit: Math.max(h.commit, meta.snapMeta.index) });
    }
    // Entries of the current epoch above the compaction point, reassembled from their parts:
    // first those of the layout before runs (all written before any run), then the runs.
    const floor = meta.compactIndex;
    const ents: Entry[] = [];
    for await (const parts of chunkGroups(kv, [...prefix, "e", meta.epoch])) {
      if (parts.index > floor) ents.push(decodeEntry(concat(parts.values)));
    }
    if (ents.length > 0) mem.append(ents);
    let tornFrom: number | undefined;
    for await (const parts of chunkGroups(kv, [...prefix, "r", meta.epoch])) {
      if (tornFrom !== undefined) {
        // Only the last run can be cut short by a crash: anything else is corruption.
        throw new Error(
          `raft storage: the log run at ${tornFrom} does not decode and later runs exist`,
        );
      }
      let run: Entry[];
      try {
        run = decodeEntryRun(concat(parts.values));
      } catch {
        tornFrom = parts.index; // cut short by a crash: the last write, never acknowledged
        continue;
      }
      const live = run.filter((e) => e.index > floor);
      if (live.length > 0) mem.append(live);
    }
    if (meta.snapMeta.index > meta.compactIndex) {
      mem.createSnapshot(meta.snapMeta.index, meta.snapMeta.confState, snapData);
    }
    const s = new KvStorage(kv, prefix, meta, mem);
    // The torn run's parts go before anything is written at its start again: a shorter run
    // there would otherwise be read back with the stale parts appended.
    if (tornFrom !== undefined) {
      const muts: Mutation[] = [];
      for await (
        const r of kv.list({
          start: [...prefix, "r", meta.epoch, tornFrom],
          end: [...prefix, "r", meta.epoch, Number.MAX_SAFE_INTEGER],
        })
      ) muts.push({ key: r.key, delete: true });
      await s.#commit(muts);
    }
    await s.#collectGarbage();
    return s;
  }

  // ---- read side: the mirror ----

  /** Hard state and membership of the latest snapshot. */
  initialState(): InitialState {
    return this.#mem.initialState();
  }
  /** Entries [lo, hi) limited to about maxSizeBytes. */
  entries(lo: number, hi: number, maxSizeBytes: number): Entry[] {
    return this.#mem.entries(lo, hi, maxSizeBytes);
  }
  /** Term of entry `index`. */
  term(index: number): number {
    return this.#mem.term(index);
  }
  /** Snapshot index + 1. */
  firstIndex(): number {
    return this.#mem.firstIndex();
  }
  /** Index of the last entry. */
  lastIndex(): number {
    return this.#mem.lastIndex();
  }
  /** The latest snapshot. */
  snapshot(): Snapshot {
    return this.#mem.snapshot();
  }

  // ---- write side ----

  /** Persists the hard state. */
  async setHardState(hs: HardState): Promise<void> {
    await this.persist({ entries: [], hardState: hs });
  }

  /** Appends entries (truncating a conflicting suffix), durably. */
  async append(entries: Entry[]): Promise<void> {
    await this.persist({ entries, hardState: undefined });
  }

  /**
   * Persists a Ready's entries and hard state, in one atomic commit when they fit (the common
   * case) and otherwise entries first, hard state last, so a crash never records a commit index
   * or vote ahead of the entries it covers.
   */
  async persist(w: { entries: Entry[]; hardState: HardState | undefined }): Promise<void> {
    const muts: Mutation[] = [];
    const fresh = this.#freshEntries(w.entries);
    if (fresh.length > 0) {
      const first = fresh[0].index;
      // Truncation of a conflicting suffix (only after a leader change): delete the runs (and
      // old-layout entries) from `first` on; a run straddling `first` is overridden on load.
      // Newest first: a crash between two commits of a large truncation then leaves the log as
      // it was after an earlier write (a valid log), never older runs with a gap filled by a
      // stale tail.
      if (first <= this.#mem.lastIndex()) {
        for (const ns of ["r", "e"]) {
          const keys: Deno.KvKey[] = [];
          for await (
            const r of this.#kv.list({
              start: [...this.#p, ns, this.#meta.epoch, first],
              end: [...this.#p, ns, this.#meta.epoch, Number.MAX_SAFE_INTEGER],
            })
          ) keys.push(r.key);
          for (const key of keys.reverse()) muts.push({ key, delete: true });
        }
      }
      for (let i = 0; i < fresh.length;) {
        let j = i;
        let bytes = 0;
        while (j < fresh.length && (j === i || bytes + fresh[j].data.byteLength <= RUN_BYTES)) {
          bytes += fresh[j++].data.byteLength;
        }
        const run = encodeEntryRun(fresh.slice(i, j));
        for (let off = 0, part = 0; off < run.byteLength; off += CHUNK_BYTES, part++) {
          const chunk = run.subarray(off, off + CHUNK_BYTES);
          muts.push({
            key: [...this.#p, "r", this.#meta.epoch, fresh[i].index, part],
            value: chunk,
            size: chunk.byteLength,
          });
        }
        i = j;
      }
    }
    if (w.hardState) {
      const hs = encodeHardState(w.hardState);
      muts.push({ key: [...this.#p, "hs"], value: hs, size: hs.byteLength });
    }
    await this.#commit(muts);
    if (w.entries.length > 0) this.#mem.append(w.entries);
    if (w.hardState) this.#mem.setHardState(w.hardState);
  }

  /** Replaces the whole log with a snapshot from the leader, durably. */
  async applySnapshot(snapshot: Snapshot): Promise<void> {
    const cur = this.#mem.snapshot().meta.index;
    if (snapshot.meta.index <= cur) throw new SnapshotOutOfDateError(snapshot.meta.index, cur);
    const meta: Meta = {
      epoch: this.#meta.epoch + 1,
      snapGen: this.#meta.snapGen + 1,
      snapChunks: 0,
      snapMeta: snapshot.meta,
      compactIndex: snapshot.meta.index,
      compactTerm: snapshot.meta.term,
    };
    meta.snapChunks = await this.#writeChunks(meta.snapGen, snapshot.data);
    await this.#commit([{ key: [...this.#p, "meta"], value: meta, size: 256 }]);
    this.#meta = meta;
    this.#mem.applySnapshot(snapshot);
    await this.#collectGarbage();
  }

  /** Records the application's snapshot at `index`, durably (does not compact). */
  async createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    const cur = this.#mem.snapshot().meta.index;
    if (index <= cur) throw new SnapshotOutOfDateError(index, cur);
    const snapMeta: SnapshotMeta = {
      index,
      term: this.#mem.term(index),
      confState: { voters: [...confState.voters], learners: [...confState.learners] },
    };
    const meta: Meta = { ...this.#meta, snapGen: this.#meta.snapGen + 1, snapChunks: 0, snapMeta };
    meta.snapChunks = await this.#writeChunks(meta.snapGen, data);
    await this.#commit([{ key: [...this.#p, "meta"], value: meta, size: 256 }]);
    this.#meta = meta;
    const snap = this.#mem.createSnapshot(index, confState, data);
    await this.#collectGarbage();
    return snap;
  }

  /** Drops entries up to `index`, which must not pass the latest snapshot. */
  async compact(index: number): Promise<void> {
    const offset = this.#mem.firstIndex() - 1;
    if (index <= offset) throw new CompactedError(index, offset + 1);
    if (index > this.#meta.snapMeta.index) {
      throw new FailedPreconditionError(
        `cannot compact the raft log to ${index}: the latest snapshot is at ${this.#meta.snapMeta.index}`,
      );
    }
    const meta: Meta = { ...this.#meta, compactIndex: index, compactTerm: this.#mem.term(index) };
    await this.#commit([{ key: [...this.#p, "meta"], value: meta, size: 256 }]);
    this.#meta = meta;
    this.#mem.compact(index);
    await this.#collectGarbage();
  }

  /** Entries not below the compaction point (the core may resend some the snapshot covers). */
  #freshEntries(entries: Entry[]): Entry[] {
    const first = this.#mem.firstIndex();
    if (entries.length === 0 || entries[entries.length - 1].index < first) return [];
    return entries[0].index >= first ? entries : entries.slice(first - entries[0].index);
  }

  async #writeChunks(gen: number, data: Uint8Array): Promise<number> {
    const muts: Mutation[] = [];
    let n = 0;
    for (let off = 0; off < data.byteLength; off += CHUNK_BYTES) {
      const chunk = data.subarray(off, off + CHUNK_BYTES);
      muts.push({ key: [...this.#p, "s", gen, n++], value: chunk, size: chunk.byteLength });
    }
    await this.#commit(muts);
    return n;
  }

  /** Deletes entries of old epochs, compacted entries and old snapshot generations. */
  async #collectGarbage(): Promise<void> {
    const muts: Mutation[] = [];
    const m = this.#meta;
    for await (const r of this.#kv.list({ prefix: [...this.#p, "e"] }, { batchSize: 500 })) {
      const epoch = r.key[this.#p.length + 1] as number;
      const index = r.key[this.#p.length + 2] as number;
      if (epoch !== m.epoch || index <= m.compactIndex) {
        muts.push({ key: r.key, delete: true });
      } else if (epoch === m.epoch) break; // keys sort by epoch then index: the rest is live
    }
    // A run holds live entries up to the next run's start - 1: it is garbage once the next run
    // starts at or below compactIndex + 1 (the last run is kept: nothing follows it).
    let prev: Deno.KvKey[] = [];
    let prevStart = -1;
    for await (const r of this.#kv.list({ prefix: [...this.#p, "r"] }, { batchSize: 100 })) {
      const epoch = r.key[this.#p.length + 1] as number;
      const start = r.key[this.#p.length + 2] as number;
      if (epoch !== m.epoch) {
        muts.push({ key: r.key, delete: true });
        continue;
      }
      if (start !== prevStart) {
        if (start > m.compactIndex + 1) break;
        for (const key of prev) muts.push({ key, delete: true });
        prev = [];
        prevStart = start;
      }
      prev.push(r.key);
    }
    for await (const r of this.#kv.list({ prefix: [...this.#p, "s"] })) {
      if (r.key[this.#p.length + 1] !== m.snapGen) muts.push({ key: r.key, delete: true });
    }
    await this.#commit(muts);
  }

  /** Commits mutations in as few atomic operations as the limits allow, in order. */
  async #commit(muts: Mutation[]): Promise<void> {
    let op = this.#kv.atomic();
    let n = 0;
    let bytes = 0;
    for (const m of muts) {
      const size = "delete" in m ? 64 : m.size + 64;
      if (n > 0 && (n >= MAX_MUTATIONS || bytes + size > MAX_BATCH_BYTES)) {
        await commitOrThrow(op);
        op = this.#kv.atomic();
        n = 0;
        bytes = 0;
      }
      if ("delete" in m) op.delete(m.key);
      else op.set(m.key, m.value);
      n++;
      bytes += size;
    }
    if (n > 0) await commitOrThrow(op);
  }
}

async function commitOrThrow(op: Deno.AtomicOperation): Promise<void> {
  const res = await op.commit();
  if (!res.ok) throw new Error("raft storage: Deno KV atomic commit failed");
}

/** The values under `prefix` grouped by the key's second-to-last part (index or run start). */
async function* chunkGroups(
  kv: Deno.Kv,
  prefix: Deno.KvKey,
): AsyncGenerator<{ index: number; values: Uint8Array[] }> {
  let cur: { index: number; values: Uint8Array[] } | undefined;
  for await (const r of kv.list<Uint8Array>({ prefix })) {
    const index = r.key[r.key.length - 2] as number;
    if (cur && cur.index !== index) yield cur;
    if (!cur || cur.index !== index) cur = { index, values: [] };
    cur.values.push(r.value);
  }
  if (cur) yield cur;
}

async function readChunks(kv: Deno.Kv, prefix: Deno.KvKey, count: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const r of kv.list<Uint8Array>({ prefix })) parts.push(r.value);
  if (parts.length !== count) {
    throw new Error(`raft storage: snapshot has ${parts.length} chunks, expected ${count}`);
  }
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}
