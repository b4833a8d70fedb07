/** `tick-heartbeat ID`: ticks node ID for one heartbeat interval. @module */
import type { Env } from "../env.ts";
import { argNode, type Args } from "../parse.ts";

export function tickHeartbeat(env: Env, args: Args): void {
  const n = env.node(argNode(args));
  for (let i = 0; i < (n.config.heartbeatTicks ?? 1); i++) n.core.tick();
}
