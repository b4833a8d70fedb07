/**
 * Runs a task's health check on its interval (on the injected clock) and feeds the results to
 * the pure state machine in health_state.ts; calls back whenever the health value changes.
 * @module
 */
import type { HealthCheck } from "../proto/schema/mod.ts";
import type { Clock } from "./clock.ts";
import { type CheckedHealth, type HealthState, observeProbe } from "./health_state.ts";
import type { Probe } from "./probes.ts";

/** Options of a {@link HealthMonitor}. */
export interface HealthMonitorOptions {
  check: HealthCheck;
  probe: Probe;
  clock: Clock;
  /** Starting state (a fresh container's, or the health a re-adopted one had). */
  initial: HealthState;
  /** Called after every probe that changed the health value. */
  onChange: (health: CheckedHealth, state: HealthState) => void;
}

/** Probes every `intervalMs` until {@link HealthMonitor.stop}. */
export class HealthMonitor {
  readonly #o: HealthMonitorOptions;
  #state: HealthState;
  #timer: unknown;
  #stopped = false;
  readonly #inflight = new AbortController();

  constructor(opts: HealthMonitorOptions) {
    this.#o = opts;
    this.#state = opts.initial;
  }

  /** The current state. */
  get state(): HealthState {
    return this.#state;
  }

  /** Schedules the first probe one interval from now (Docker's timing). */
  start(): void {
    this.#schedule();
  }

  /** Stops probing; a probe in flight is aborted and its result ignored. */
  stop(): void {
    this.#stopped = true;
    this.#o.clock.clearTimeout(this.#timer);
    this.#inflight.abort();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.setTimeout(() => void this.#probeOnce(), this.#o.check.intervalMs);
  }

  async #probeOnce(): Promise<void> {
    const { clock, check } = this.#o;
    const timeout = new AbortController();
    const onStop = () => timeout.abort(new Error("health monitor stopped"));
    this.#inflight.signal.addEventListener("abort", onStop, { once: true });
    const timer = clock.setTimeout(
      () => timeout.abort(new Error(`timed out after ${check.timeoutMs} ms`)),
      check.timeoutMs,
    );
    let result;
    try {
      result = await this.#o.probe(timeout.signal);
    } catch (err) {
      result = { ok: false as const, error: String(err) };
    } finally {
      clock.clearTimeout(timer);
      this.#inflight.signal.removeEventListener("abort", onStop);
    }
    if (this.#stopped) return;
    const before = this.#state.health;
    this.#state = observeProbe(this.#state, check, result, clock.now());
    if (this.#state.health !== before) this.#o.onChange(this.#state.health, this.#state);
    this.#schedule();
  }
}
