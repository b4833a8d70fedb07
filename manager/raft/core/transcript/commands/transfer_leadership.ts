/** `transfer-leadership from=ID to=ID`: asks node `from` to hand leadership to `to`. @module */
import type { Env } from "../env.ts";
import { argOne, type Args } from "../parse.ts";

export function transferLeadership(env: Env, args: Args): void {
  const from = argOne(args, "from"), to = argOne(args, "to");
  if (!from || !to) throw new Error("transfer-leadership needs from= and to=");
  try {
    env.node(from).core.transferLeader(to);
  } catch (err) {
    env.out.push(`error: ${(err as Error).message}`);
  }
}
