/** `process-ready [ID...]`: the listed nodes (all by default) handle one Ready each. @module */
import type { Env } from "../env.ts";
import type { Args } from "../parse.ts";

export function processReady(env: Env, args: Args): void {
  for (const id of args.pos.length ? args.pos : env.ids()) env.processReady(id);
}
