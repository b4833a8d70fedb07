/** `raft-state`: one line per node: role, term and leader. @module */
import { describeRole } from "../describe.ts";
import type { Env } from "../env.ts";
import type { Args } from "../parse.ts";

export function raftState(env: Env, _args: Args): void {
  for (const id of env.ids()) {
    const s = env.node(id).core.status();
    const kind = s.config.voters.includes(id)
      ? "Voter"
      : s.config.learners.includes(id)
      ? "Learner"
      : "NonMember";
    env.out.push(`${id}: ${describeRole(s.role)} (${kind}) Term:${s.term} Lead:${s.lead || "0"}`);
  }
}
