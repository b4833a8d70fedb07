/**
 * `propose-conf-change ID add=N | add-learner=N | remove=N`: node ID proposes one membership
 * change. Prints the error if refused.
 * @module
 */
import type { ConfChangeType } from "../../types.ts";
import type { Env } from "../env.ts";
import { argNode, argOne, type Args } from "../parse.ts";

const KINDS: Record<string, ConfChangeType> = {
  add: "addNode",
  "add-learner": "addLearner",
  remove: "removeNode",
};

export function proposeConfChange(env: Env, args: Args): void {
  const entry = [...args.kv.keys()].find((k) => k in KINDS);
  if (!entry) throw new Error("propose-conf-change needs add=, add-learner= or remove=");
  const nodeId = argOne(args, entry)!;
  try {
    env.node(argNode(args)).core.proposeConfChange({
      type: KINDS[entry],
      nodeId,
      context: new Uint8Array(),
    });
  } catch (err) {
    env.out.push(`error: ${(err as Error).message}`);
  }
}
