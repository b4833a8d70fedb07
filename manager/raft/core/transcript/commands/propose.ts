/** `propose ID DATA`: node ID proposes the command DATA. Prints the error if dropped. @module */
import type { Env } from "../env.ts";
import { argNode, type Args } from "../parse.ts";

export function propose(env: Env, args: Args): void {
  const data = new TextEncoder().encode(args.pos[1] ?? "");
  try {
    env.node(argNode(args)).core.propose(data);
  } catch (err) {
    env.out.push(`error: ${(err as Error).message}`);
  }
}
