/** `report-unreachable ID PEER`: ID's transport reports PEER unreachable. @module */
import type { Env } from "../env.ts";
import { argNode, type Args } from "../parse.ts";

export function reportUnreachable(env: Env, args: Args): void {
  env.node(argNode(args)).core.reportUnreachable(argNode(args, 1));
}
