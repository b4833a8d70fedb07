/**
 * Batches task status reports to the managers: changes within `batchMs` go out as one
 * ReportStatus call, and so do those made while a call is in flight (one call at a time; the
 * agent uses a window of 0, so only the latter); only the newest status of a task is kept
 * while waiting, so a terminal status (always a task's last) is never dropped in favour of an
 * older one. A failed send is retried with backoff until it succeeds; while no manager is
 * reachable the reporter is paused and keeps everything.
 *
 * A batch the manager refuses for good (a task moved to another node, a malformed status) is
 * split and sent one task at a time, so one bad entry cannot hold back the others.
 * @module
 */
import type { TaskStatusUpdate } from "../proto/schema/mod.ts";
import { toWarrenError, type WarrenError } from "../proto/errors.ts";
import type { Logger } from "../proto/log.ts";
import { type Clock, systemClock } from "./clock.ts";

/** Options of a {@link StatusReporter}. */
export interface StatusReporterOptions {
  /** Sends one batch; throws a WarrenError on failure. */
  send(updates: TaskStatusUpdate[]): Promise<void>;
  clock?: Clock;
  /** Coalescing window. Default 20 ms. */
  batchMs?: number;
  /** First retry delay, doubled up to `retryMaxMs`. Defaults 100 ms and 5 s. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Most updates per call. Default 10,000 (the wire limit). */
  batchMax?: number;
  log: Logger;
}

/** Errors after which the same report can never be accepted. */
const PERMANENT = new Set(["invalid_argument", "permission_denied", "not_found"]);

/** Whether `err` means the report will never be accepted. */
export function isPermanentReportError(err: WarrenError): boolean {
  return PERMANENT.has(err.code);
}

/** The batching reporter. See the module doc. */
export class StatusReporter {
  readonly #o: Required<Omit<StatusReporterOptions, "clock">> & { clock: Clock };
  readonly #pending = new Map<string, TaskStatusUpdate>();
  #paused = true;
  #closed = false;
  #timer: unknown;
  #retryMs: number;
  #flushing: Promise<void> | undefined;
  #idle: (() => void)[] = [];

  constructor(o: StatusReporterOptions) {
    this.#o = {
      clock: o.clock ?? systemClock,
      batchMs: o.batchMs ?? 20,
      retryMinMs: o.retryMinMs ?? 100,
      retryMaxMs: o.retryMaxMs ?? 5_000,
      batchMax: o.batchMax ?? 10_000,
      send: o.send,
      log: o.log,
    };
    this.#retryMs = this.#o.retryMinMs;
  }

  /** Updates waiting to be acknowledged. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Queues a task's newest status. */
  report(u: TaskStatusUpdate): void {
    if (this.#closed) return;
    this.#pending.set(u.taskId, u);
    this.#schedule(this.#o.batchMs);
  }

  /** Stops sending (no manager reachable); queued updates are kept. */
  pause(): void {
    this.#paused = true;
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Sends again (a session is open): whatever is queued goes out within the batch window. */
  resume(): void {
    this.#paused = false;
    this.#retryMs = this.#o.retryMinMs;
    this.#schedule(this.#o.batchMs);
  }

  /** Resolves once nothing is queued (or the reporter is paused or closed). */
  idle(): Promise<void> {
    if (this.#pending.size === 0 || this.#paused || this.#closed) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  /** Stops for good; unsent updates are dropped (the worker re-reports after a restart). */
  close(): void {
    this.#closed = true;
    this.pause();
    this.#wakeIdle();
  }

  #schedule(ms: number): void {
    if (this.#paused || this.#closed || this.#timer !== undefined || this.#flushing) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = undefined;
        if (this.#pending.size > 0) this.#schedule(this.#retrying ? this.#retryMs : 0);
        else this.#wakeIdle();
      });
    }, ms);
  }

  #retrying = false;

  async #flush(): Promise<void> {
    if (this.#paused || this.#closed || this.#pending.size === 0) return;
    const batch = [...this.#pending.values()].slice(0, this.#o.batchMax);
    try {
      await this.#o.send(batch);
      this.#acknowledge(batch);
      this.#retrying = false;
      this.#retryMs = this.#o.retryMinMs;
    } catch (e) {
      const err = toWarrenError(e);
      if (isPermanentReportError(err)) {
        await this.#sendOneByOne(batch);
        return;
      }
      if (this.#paused) return;
      this.#o.log.warn("status report failed; retrying", {
        err,
        updates: batch.length,
        retryMs: this.#retryMs,
      });
      this.#retrying = true;
      this.#retryMs = Math.min(this.#retryMs * 2, this.#o.retryMaxMs);
    }
  }

  async #sendOneByOne(batch: TaskStatusUpdate[]): Promise<void> {
    for (const u of batch) {
      try {
        await this.#o.send([u]);
        this.#acknowledge([u]);
      } catch (e) {
        const err = toWarrenError(e);
        if (!isPermanentReportError(err)) {
          this.#retrying = true;
          return;
        }
        this.#o.log.error("the manager refused a task status; dropping it", {
          task: u.taskId,
          state: u.status.state,
          err,
        });
        this.#acknowledge([u]);
      }
    }
  }

  /** Forgets sent updates unless a newer one for the same task arrived meanwhile. */
  #acknowledge(sent: TaskStatusUpdate[]): void {
    for (const u of sent) if (this.#pending.get(u.taskId) === u) this.#pending.delete(u.taskId);
  }

  #wakeIdle(): void {
    const w = this.#idle;
    this.#idle = [];
    for (const r of w) r();
  }
}
