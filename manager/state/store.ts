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
import { FailedPreconditionError, UnavailableError } from "../../proto/errors.ts";
import type { StateMachine } from "../raft/state_machine.ts";
import { decodeCommand } from "./commands.ts";
import { applyCommand, type Change } from "./fsm.ts";
import { type ClusterState, emptyState, fromSnapshot, toSnapshot } from "./fsm_state.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Options of a {@link Store}. */
export interface StoreOptions {
  /** Change events kept for resuming watchers. Default 50,000. */
  historyEvents?: number;
  /** Events a watcher may fall behind by before it is cut off. Default 10,000. */
  watcherQueueEvents?: number;
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
  /** Events at or below this index are no longer in the history. */
  #historyFloor = 0;
  readonly #maxHistory: number;
  readonly #maxQueue: number;
  readonly #watchers = new Set<Watcher>();
  readonly #appliedListeners = new Set<(index: number, changes: Change[]) => void>();
  readonly #clusterListeners = new Set<() => void>();

  constructor(opts: StoreOptions = {}) {
    this.#maxHistory = opts.historyEvents ?? 50_000;
    this.#maxQueue = opts.watcherQueueEvents ?? 10_000;
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
    this.#index = index;
    const cmd = decodeCommand(command);
    const cluster = this.#state.cluster;
    const { result, changes } = applyCommand(this.#state, cmd);
    if (this.#state.cluster !== cluster) { for (const fn of this.#clusterListeners) fn(); }
    if (changes.length > 0) {
      const events = changes.map((c) => toEvent(c, index, cmd.at));
      this.#record(events);
      for (const fn of this.#appliedListeners) fn(index, changes);
    }
    return result;
  }

  /** Serializes the state. */
  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify(toSnapshot(this.#state)));
  }

  /** Replaces the state; watchers cannot resume across it (history is cleared). */
  restore(data: Uint8Array, index: number): void {
    this.#state = data.byteLength ? fromSnapshot(JSON.parse(dec.decode(data))) : emptyState();
    this.#index = index;
    this.#history = [];
    this.#historyFloor = index;
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
   * of some kinds. Ends with FailedPreconditionError when `fromIndex` is older than the history
   * kept, and with UnavailableError when the consumer falls too far behind.
   */
  async *watch(
    fromIndex: number,
    opts: { kinds?: string[]; signal?: AbortSignal } = {},
  ): AsyncGenerator<Event> {
    if (fromIndex < this.#historyFloor) {
      throw new FailedPreconditionError(
        `events up to index ${this.#historyFloor} are no longer kept (asked for those after ${fromIndex}): list the objects, then watch from the list's index`,
      );
    }
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
      this.#historyFloor = this.#history[cut - 1].index;
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
