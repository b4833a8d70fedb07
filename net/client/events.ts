/**
 * EventService.Watch as an AsyncIterable of domain events. The stream ends cleanly when the
 * caller's AbortSignal fires (or the caller stops iterating); when the manager becomes
 * unavailable it reconnects to the next manager and resumes after the last delivered index, a
 * bounded number of times in a row.
 * @module
 */
import { codecs } from "../../proto/convert.ts";
import { WarrenError } from "../../proto/errors.ts";
import * as w from "../../proto/gen/warren.ts";
import * as d from "../../proto/schema/mod.ts";
import type { ServiceError } from "@grpc/grpc-js";
import { fromGrpcError } from "../grpc/status.ts";
import { isFailover, type ManagerPool } from "./manager_pool.ts";

/** Options of a watch. */
export interface WatchOptions {
  /**
   * First Raft index to deliver; 0 (default) means "changes from now on". A list response's
   * `index + 1` resumes without missing a change.
   */
  fromIndex?: number;
  /** Only these kinds; empty or absent means all. */
  kinds?: d.EventKind[];
  /** Ends the stream (the iterable then completes without an error). */
  signal?: AbortSignal;
}

/**
 * Watches events through `pool`. A reconnect before the first event of a watch from index 0
 * starts "from now on" again on the next manager, so changes in between can be missed; pass a
 * `fromIndex` to make resumption exact.
 */
export async function* watchEvents(
  pool: ManagerPool,
  opts: WatchOptions = {},
): AsyncGenerator<d.Event, void, undefined> {
  const base = d.parseOrThrow(d.WatchRequestSchema, {
    fromIndex: opts.fromIndex,
    kinds: opts.kinds,
  });
  const signal = opts.signal;
  let fromIndex = base.fromIndex;
  let i = pool.firstIndex();
  let failures = 0;
  while (!signal?.aborted) {
    const call = pool.serverStream(
      i,
      w.EventServiceService.watch,
      codecs.WatchRequest.toWire({ ...base, fromIndex }),
    );
    const cancel = () => call.cancel();
    signal?.addEventListener("abort", cancel, { once: true });
    try {
      for await (const message of call as AsyncIterable<w.Event>) {
        let event: d.Event;
        try {
          event = codecs.Event.fromWire(message, "event");
        } catch (err) {
          throw new WarrenError("internal", `the manager sent an invalid event: ${err}`, {
            cause: err,
          });
        }
        failures = 0;
        pool.markGood(i);
        fromIndex = event.index + 1;
        yield event;
      }
      return; // the manager ended the stream
    } catch (err) {
      if (signal?.aborted) return;
      if (err instanceof WarrenError) throw err;
      const e = fromGrpcError(err as ServiceError);
      if (!isFailover(e) || ++failures >= pool.maxAttempts) throw e;
      i = pool.nextAddress(i);
    } finally {
      signal?.removeEventListener("abort", cancel);
      // The caller may have stopped iterating early: end the call on the manager too.
      call.cancel();
    }
  }
}
