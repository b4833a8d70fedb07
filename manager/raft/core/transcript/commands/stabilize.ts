/**
 * `stabilize [ID...]`: handles Readies and delivers messages among the listed nodes (all by
 * default) until nothing is left to do. Messages to other nodes stay in flight.
 * @module
 */
import type { Env } from "../env.ts";
import type { Args } from "../parse.ts";

export function stabilize(env: Env, args: Args): void {
  env.stabilize(args.pos.length ? args.pos : env.ids());
}
