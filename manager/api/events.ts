/**
 * The change feed: events in commit order, resumable from a Raft index.
 * @module
 */
import type { Event, WatchRequest } from "../../proto/schema/mod.ts";
import type { ApiContext } from "./context.ts";

/**
 * Streams events from `fromIndex` (the first index to deliver; 0 = from now on) until `signal`
 * aborts. Fails with FAILED_PRECONDITION when that index is no longer kept.
 */
export function watchEvents(
  ctx: ApiContext,
  req: WatchRequest,
  signal: AbortSignal,
): AsyncGenerator<Event> {
  const after = req.fromIndex === 0 ? ctx.store.index : req.fromIndex - 1;
  return ctx.store.watch(after, { kinds: req.kinds, signal });
}
