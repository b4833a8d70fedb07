/** `campaign ID`: node ID starts an election now (pre-vote first if enabled). @module */
import type { Env } from "../env.ts";
import { argNode, type Args } from "../parse.ts";

export function campaign(env: Env, args: Args): void {
  env.node(argNode(args)).core.campaign();
}
