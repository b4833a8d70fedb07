/** `raft-log ID`: prints node ID's persisted log (snapshot point, then entries). @module */
import { describeEntry } from "../describe.ts";
import type { Env } from "../env.ts";
import { argNode, type Args } from "../parse.ts";

export function raftLog(env: Env, args: Args): void {
  const s = env.node(argNode(args)).storage;
  const first = s.firstIndex(), last = s.lastIndex();
  if (first > 1) env.out.push(`snapshot ${s.term(first - 1)}/${first - 1}`);
  if (last < first) {
    env.out.push("log is empty");
    return;
  }
  env.out.push(...s.entries(first, last + 1, Infinity).map(describeEntry));
}
