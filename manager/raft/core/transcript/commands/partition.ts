/**
 * `partition (1,2) (3)`: splits the network into the listed groups (unlisted nodes form one more
 * group); messages across groups are dropped on delivery. `heal` reconnects everyone.
 * @module
 */
import type { Env } from "../env.ts";
import type { Args } from "../parse.ts";

export function partition(env: Env, args: Args): void {
  env.partition.clear();
  args.pos.forEach((group, i) => {
    for (const id of group.replace(/[()]/g, "").split(",").filter(Boolean)) {
      env.partition.set(id.trim(), i);
    }
  });
  const groups = args.pos.map((g) => g.replace(/[()]/g, ""));
  env.out.push(`partitioned: ${groups.map((g) => `{${g}}`).join(" ")}`);
}

export function heal(env: Env, _args: Args): void {
  env.partition.clear();
  env.out.push("healed");
}
