/**
 * A simulated disk under a node's Raft storage. Writes go to a page cache (the MemoryStorage the
 * core reads) and are queued as batches; `sync()` makes them durable. A crash throws the page
 * cache away and rebuilds it from what is durable, so it loses exactly the unsynced batches (or,
 * as a torn crash, all but a prefix of them: each batch is atomic, as one Deno KV commit or one
 * WAL record is, and batches reach the disk in order).
 * @module
 */
import { MemoryStorage } from "../../manager/raft/core/memory_storage.ts";
import type { ConfState, Entry, HardState, Snapshot } from "../../manager/raft/core/types.ts";
import type { SimRng } from "./rng.ts";

/** One write to stable storage. */
export type DiskOp =
  | { kind: "hardState"; hardState: HardState }
  | { kind: "append"; entries: Entry[] }
  | { kind: "applySnapshot"; snapshot: Snapshot }
  | { kind: "createSnapshot"; index: number; confState: ConfState; data: Uint8Array }
  | { kind: "compact"; index: number };

/** How a crash treats unsynced batches. */
export type CrashMode = "loseUnsynced" | "torn";

/** A node's disk. Survives the node's crashes; the node reads it through {@link storage}. */
export class SimDisk {
  /** What the running node sees: durable state plus unsynced writes. */
  storage: MemoryStorage;
  readonly #durable: MemoryStorage;
  /** Planted bug: what the disk claims is synced (#durable lags behind it). */
  #claimed: MemoryStorage | undefined;
  #pending: DiskOp[][] = [];
  /** Planted bug: synced batches that are not really durable yet (lost on crash). */
  #volatileSynced: DiskOp[][] = [];
  readonly #loseSyncedWrites: boolean;
  /** Bumped on every change of the page cache, so checkers can skip unchanged logs. */
  version = 0;

  /** A disk holding `initial` (durable), e.g. a bootstrap snapshot. */
  constructor(initial: Snapshot | undefined, opts: { loseSyncedWrites?: boolean } = {}) {
    this.#durable = new MemoryStorage();
    if (initial) this.#durable.applySnapshot(initial);
    this.storage = cloneStorage(this.#durable);
    this.#loseSyncedWrites = opts.loseSyncedWrites ?? false;
    if (this.#loseSyncedWrites) this.#claimed = cloneStorage(this.#durable);
  }

  /** Writes a batch to the page cache; durable only after {@link sync}. */
  write(batch: DiskOp[]): void {
    if (batch.length === 0) return;
    this.version++;
    applyOps(this.storage, batch);
    this.#pending.push(batch);
  }

  /** Makes every written batch durable. */
  sync(): void {
    if (this.#claimed) {
      for (const b of this.#pending) applyOps(this.#claimed, b);
      this.#volatileSynced.push(...this.#pending);
      // The buggy disk keeps up to 8 "synced" batches in a volatile cache.
      while (this.#volatileSynced.length > 8) {
        applyOps(this.#durable, this.#volatileSynced.shift()!);
      }
    } else {
      for (const b of this.#pending) applyOps(this.#durable, b);
    }
    this.#pending = [];
  }

  /** Number of batches written but not synced. */
  get unsyncedBatches(): number {
    return this.#pending.length;
  }

  /**
   * Power loss: unsynced batches are lost (all of them, or all but a random prefix for a torn
   * crash), and the page cache is rebuilt from the durable state. Returns how many were lost.
   */
  crash(rng: SimRng, mode: CrashMode): number {
    // (The buggy disk loses its volatile "synced" batches, hence everything after them.)
    const keep = mode === "torn" && !this.#claimed ? rng.int(this.#pending.length + 1) : 0;
    for (const b of this.#pending.slice(0, keep)) applyOps(this.#durable, b);
    const lost = this.#pending.length - keep;
    this.#pending = [];
    this.#volatileSynced = [];
    this.storage = cloneStorage(this.#durable);
    this.version++;
    if (this.#claimed) this.#claimed = cloneStorage(this.#durable);
    return lost;
  }

  /** The synced state, read-only: what a crash now must leave (a correct disk does). */
  get durable(): Pick<MemoryStorage, "initialState" | "lastIndex" | "snapshot"> {
    return this.#claimed ?? this.#durable;
  }

  /** The durable hard state (what a restart will see). */
  durableHardState(): HardState {
    return this.#durable.initialState().hardState;
  }
}

function applyOps(s: MemoryStorage, batch: DiskOp[]): void {
  for (const op of batch) {
    switch (op.kind) {
      case "hardState":
        s.setHardState(op.hardState);
        break;
      case "append":
        s.append(op.entries);
        break;
      case "applySnapshot":
        s.applySnapshot(op.snapshot);
        break;
      case "createSnapshot":
        s.createSnapshot(op.index, op.confState, op.data);
        break;
      case "compact":
        s.compact(op.index);
        break;
    }
  }
}

/** A fresh MemoryStorage with the same snapshot, entries and hard state. */
function cloneStorage(src: MemoryStorage): MemoryStorage {
  const dst = new MemoryStorage();
  const snap = src.snapshot();
  if (snap.meta.index > 0) dst.applySnapshot(snap);
  const first = src.firstIndex(), last = src.lastIndex();
  if (last >= first) dst.append(src.entries(first, last + 1, Infinity));
  dst.setHardState(src.initialState().hardState);
  return dst;
}

/** A one-line description of a batch, for the trace. */
export function describeBatch(batch: DiskOp[]): string {
  return batch.map((op) => {
    switch (op.kind) {
      case "hardState":
        return `hs term=${op.hardState.term} vote=${
          op.hardState.vote || "-"
        } commit=${op.hardState.commit}`;
      case "append":
        return `append ${op.entries[0].index}..${op.entries[op.entries.length - 1].index}`;
      case "applySnapshot":
        return `snapshot ${op.snapshot.meta.index}/${op.snapshot.meta.term}`;
      default:
        return op.kind;
    }
  }).join(", ");
}
