/** `app-state ID`: prints the commands node ID's toy application has applied. @module */
import type { Env } from "../env.ts";
import { argNode, type Args } from "../parse.ts";

export function appState(env: Env, args: Args): void {
  const n = env.node(argNode(args));
  env.out.push(
    `applied index ${n.appliedIndex}: [${n.app.applied.map(([i, d]) => `${i}:${d}`).join(" ")}]`,
  );
}
