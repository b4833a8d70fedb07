/**
 * `deliver-msgs [ID...] [drop=(ID,..)]`: delivers the in-flight messages addressed to the listed
 * nodes (all by default); messages to nodes in `drop` are discarded instead.
 * @module
 */
import type { Env } from "../env.ts";
import type { Args } from "../parse.ts";

export function deliverMsgs(env: Env, args: Args): void {
  const drop = new Set(args.kv.get("drop") ?? []);
  const targets = args.pos.length ? args.pos : env.recipients();
  for (const id of [...new Set([...targets, ...drop])]) env.deliver(id, drop);
}
