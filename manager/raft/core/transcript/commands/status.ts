/** `status ID`: prints node ID's status (and member progress on a leader). @module */
import { describeStatus } from "../describe.ts";
import type { Env } from "../env.ts";
import { argNode, type Args } from "../parse.ts";

export function status(env: Env, args: Args): void {
  env.out.push(...describeStatus(env.node(argNode(args)).core.status()));
}
