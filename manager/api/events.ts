/**
 * The change feed: events in commit order, resumable from a Raft index.
 * @module
 */
import type { Event, WatchRequest } from "../../proto/schema/mod.ts";
import type { ApiContext } from "./context.ts";

/**
 * Streams events from `fromIndex` (the first index to deliver; 0 = from now on) until `signal`
 * aborts. Throws CompactedError (gRPC OUT_OF_RANGE, HTTP 410) at once when events from that index
 * on were compacted away; the message names the oldest index still available.
 */
export function watchEvents(
  ctx: ApiContext,
  req: WatchRequest,
  signal: AbortSignal,
): AsyncGenerator<Event> {
  const after = req.fromIndex === 0 ? ctx.store.index : req.fromIndex - 1;
  return ctx.store.watch(after, { kinds: req.kinds, signal });
}
