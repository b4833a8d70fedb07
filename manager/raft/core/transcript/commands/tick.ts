/** `tick ID N`: ticks node ID N times. @module */
import type { Env } from "../env.ts";
import { argNode, type Args } from "../parse.ts";

export function tick(env: Env, args: Args): void {
  const n = env.node(argNode(args));
  const count = Number(args.pos[1] ?? "1");
  for (let i = 0; i < count; i++) n.core.tick();
}
