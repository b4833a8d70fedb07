/**
 * The replicated store: the FSM's state held in memory, fed by Raft (it is the Raft node's
 * {@link StateMachine}), with a bounded history of change events that watchers can resume from.
 *
 * Why memory and not Deno KV tables: every manager already persists the Raft log and snapshots in
 * Deno KV; keeping the applied state in memory makes reads map lookups (list p99 in microseconds)
 * and writes one KV commit (the log) instead of two. The price is replaying the log since the last
 * snapshot at start-up, bounded by the snapshot interval.
 * @module
 */
import type { Event } from "../../proto/schema/mod.ts";
import { CompactedError, UnavailableError } from "../../proto/errors.ts";
import type { StateMachine } from "../raft/state_machine.ts";
import { type Command, decodeCommand } from "./commands.ts";
import { type Applied, applyCommand, type Change } from "./fsm.ts";
import {
  BASE_FEATURE_LEVEL,
  BINARY_FEATURE_LEVEL,
  CannotApplyError,
  FeatureLevelTooHighError,
} from "./fsm_feature_level.ts";
import {
  type ClusterState,
  emptyState,
  fromSnapshot,
  type StateSnapshot,
  toSnapshot,
} from "./fsm_state.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Options of a {@link Store}. */
export interface StoreOptions {
  /** Change events kept for resuming watchers. Default 50,000. */
  historyEvents?: number;
  /** Events a watcher may fall behind by before it is cut off. Default 10,000. */
  watcherQueueEvents?: number;
  /**
   * The feature level of the binary (fsm_feature_level.ts); tests inject another. Default
   * {@link BINARY_FEATURE_LEVEL}. A command or snapshot above it halts the Raft node.
   */
  featureLevel?: number;
}

interface Watcher {
  kinds: Set<string> | undefined;
  queue: Event[];
  wake: (() => void) | undefined;
  error: Error | undefined;
}

/** The in-memory replicated state plus its change feed. */
export class Store implements StateMachine {
  #state: ClusterState = emptyState();
  #index = 0;
  #history: Event[] = [];
  /**
   * Events at or below this index may be gone (dropped from the history, or before the snapshot
   * the state was restored from); every event above it is in the history. Not simply the
   * snapshot's index: the commands up to that index may have made no event (a new cluster's
   * bootstrap snapshot), and then nothing was compacted away.
   */
  #compactedThrough = 0;
  /** Index of the latest command that made events (kept in snapshots for the line above). */
  #lastEventIndex = 0;
  readonly #maxHistory: number;
  readonly #maxQueue: number;
  readonly #featureLevel: number;
  readonly #watchers = new Set<Watcher>();
  readonly #appliedListeners = new Set<(index: number, changes: Change[]) => void>();
  readonly #clusterListeners = new Set<() => void>();

  constructor(opts: StoreOptions = {}) {
    this.#maxHistory = opts.historyEvents ?? 50_000;
    this.#maxQueue = opts.watcherQueueEvents ?? 10_000;
    this.#featureLevel = opts.featureLevel ?? BINARY_FEATURE_LEVEL;
  }

  /** The feature level of the binary this store applies commands as. */
  get featureLevel(): number {
    return this.#featureLevel;
  }

  /** The state as of {@link Store.index}. Read-only for callers. */
  get state(): Readonly<ClusterState> {
    return this.#state;
  }

  /** The Raft index the state reflects. */
  get index(): number {
    return this.#index;
  }

  /** Applies one committed command (called by the Raft node, in log order). */
  apply(command: Uint8Array, index: number): unknown {
    const cluster = this.#state.cluster;
    let cmd: Command;
    let applied: Applied;
    try {
      cmd = decodeCommand(command);
      applied = applyCommand(this.#state, cmd, this.#featureLevel);
    } catch (err) {
      // A refusal is applied as nothing (the log moves past it); a command this binary cannot
      // apply is not applied at all (the node halts on it): the state is still at the one before.
      if (!(err instanceof CannotApplyError)) this.#index = index;
      throw err;
    }
    this.#index = index;
    const { result, changes } = applied;
    if (this.#state.cluster !== cluster) { for (const fn of this.#clusterListeners) fn(); }
    if (changes.length > 0) {
      this.#lastEventIndex = index;
      const events = changes.map((c) => toEvent(c, index, cmd.at));
      this.#record(events);
      for (const fn of this.#appliedListeners) fn(index, changes);
    }
    return result;
  }

  /** Serializes the state, and the index of the latest command that made events. */
  snapshot(): Uint8Array {
    const snap: StateSnapshot = {
      ...toSnapshot(this.#state),
      lastEventIndex: this.#lastEventIndex,
    };
    return enc.encode(JSON.stringify(snap));
  }

  /**
   * Replaces the state; watchers cannot resume across it (history is cleared). Events up to
   * the latest one the snapshot's commands made are gone; when they made none, nothing is.
   * A snapshot of a cluster above this binary's feature level changes nothing and halts the
   * node (FeatureLevelTooHighError); one from before levels is at level 1.
   */
  restore(data: Uint8Array, index: number): void {
    const snap: StateSnapshot | undefined = data.byteLength
      ? JSON.parse(dec.decode(data))
      : undefined;
    const level = snap?.cluster?.featureLevel ?? BASE_FEATURE_LEVEL;
    if (level > this.#featureLevel) {
      throw new FeatureLevelTooHighError(
        this.#featureLevel,
        level,
        "its snapshot of the cluster is",
      );
    }
    this.#state = snap ? fromSnapshot(snap) : emptyState();
    this.#index = index;
    this.#history = [];
    // A snapshot from before `lastEventIndex` was kept: events up to its index may be gone,
    // unless it has no cluster record, as only a bootstrap snapshot (no command applied) has.
    this.#lastEventIndex = snap?.lastEventIndex ?? (snap?.cluster === undefined ? 0 : index);
    this.#compactedThrough = this.#lastEventIndex;
    for (const w of this.#watchers) {
      this.#fail(w, new UnavailableError("state was replaced by a snapshot; list and watch again"));
    }
    for (const fn of this.#clusterListeners) fn();
  }

  /**
   * Calls `fn` after the cluster record (settings, keys) changed: by a command or a snapshot.
   * Such commands record no object change, so {@link Store.onApplied} does not see them.
   */
  onClusterChange(fn: () => void): () => void {
    this.#clusterListeners.add(fn);
    return () => this.#clusterListeners.delete(fn);
  }

  /** Calls `fn` after each applied command that changed objects (orchestrators mark dirty). */
  onApplied(fn: (index: number, changes: Change[]) => void): () => void {
    this.#appliedListeners.add(fn);
    return () => this.#appliedListeners.delete(fn);
  }

  /**
   * Streams change events with index > `fromIndex` (history first, then live), optionally only
   * of some kinds. Throws CompactedError, at once, when events after `fromIndex` were compacted
   * away (a `fromIndex` before the history kept is fine when no event was: the stream starts
   * with the first one); ends with UnavailableError when the consumer falls too far behind.
   */
  watch(
    fromIndex: number,
    opts: { kinds?: string[]; signal?: AbortSignal } = {},
  ): AsyncGenerator<Event> {
    // Checked here, so a caller learns it before it answers (an HTTP status, not a 200 stream),
    // and again when the stream starts, in case the history moved on in between.
    this.#checkKept(fromIndex);
    return this.#stream(fromIndex, opts);
  }

  #checkKept(fromIndex: number): void {
    if (fromIndex >= this.#compactedThrough) return;
    const oldest = this.#compactedThrough + 1;
    throw new CompactedError(
      `events up to index ${this.#compactedThrough} have been compacted (asked for those from ${
        fromIndex + 1
      }); the oldest index still available is ${oldest}: list the objects, then watch from the list's index`,
    );
  }

  async *#stream(
    fromIndex: number,
    opts: { kinds?: string[]; signal?: AbortSignal },
  ): AsyncGenerator<Event> {
    this.#checkKept(fromIndex);
    const kinds = opts.kinds && opts.kinds.length > 0 ? new Set(opts.kinds) : undefined;
    const w: Watcher = { kinds, queue: [], wake: undefined, error: undefined };
    for (const e of this.#history) {
      if (e.index > fromIndex && (!kinds || kinds.has(e.kind))) w.queue.push(e);
    }
    this.#watchers.add(w);
    const onAbort = () => w.wake?.();
    opts.signal?.addEventListener("abort", onAbort);
    try {
      while (!opts.signal?.aborted) {
        if (w.queue.length > 0) {
          const batch = w.queue;
          w.queue = [];
          yield* batch;
          continue;
        }
        if (w.error) throw w.error;
        await new Promise<void>((r) => (w.wake = r));
        w.wake = undefined;
      }
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
      this.#watchers.delete(w);
    }
  }

  /** Number of live watchers (for metrics). */
  get watcherCount(): number {
    return this.#watchers.size;
  }

  #record(events: Event[]): void {
    for (const e of events) this.#history.push(e);
    if (this.#history.length > this.#maxHistory) {
      const drop = this.#history.length - this.#maxHistory;
      // Drop whole indexes only, so a resume never sees half of one command's events.
      let cut = drop;
      while (
        cut < this.#history.length && this.#history[cut].index === this.#history[cut - 1].index
      ) {
        cut++;
      }
      this.#compactedThrough = this.#history[cut - 1].index;
      this.#history = this.#history.slice(cut);
    }
    for (const w of this.#watchers) {
      for (const e of events) if (!w.kinds || w.kinds.has(e.kind)) w.queue.push(e);
      if (w.queue.length > this.#maxQueue) {
        this.#fail(
          w,
          new UnavailableError("watcher fell too far behind; resume from your last index"),
        );
      }
      w.wake?.();
    }
  }

  #fail(w: Watcher, err: Error): void {
    w.error = err;
    w.queue = [];
    w.wake?.();
  }
}

function toEvent(c: Change, index: number, at: number): Event {
  const base = { index, action: c.action, timestamp: at };
  switch (c.kind) {
    case "node":
      return { ...base, kind: "node", node: c.node };
    case "service":
      return { ...base, kind: "service", service: c.service };
    case "task":
      return { ...base, kind: "task", task: c.task };
    case "secret": {
      // Events carry secret metadata only, never the ciphertext.
      const { encrypted: _, ...secret } = c.secret;
      return { ...base, kind: "secret", secret };
    }
    case "volume":
      return { ...base, kind: "volume", volume: c.volume };
  }
}
