/** `read-index ID CONTEXT`: node ID requests a linearizable read point. @module */
import type { Env } from "../env.ts";
import { argNode, type Args } from "../parse.ts";

export function readIndex(env: Env, args: Args): void {
  try {
    env.node(argNode(args)).core.readIndex(args.pos[1] ?? "");
  } catch (err) {
    env.out.push(`error: ${(err as Error).message}`);
  }
}
