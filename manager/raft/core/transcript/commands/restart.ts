/**
 * `restart ID`: node ID crashes and restarts from its storage: unpersisted state (unstable
 * entries, in-flight Readies) is lost, the application re-applies from its last snapshot.
 * @module
 */
import { EnvNode } from "../env.ts";
import type { Env } from "../env.ts";
import { argNode, type Args } from "../parse.ts";

export function restart(env: Env, args: Args): void {
  const id = argNode(args);
  const old = env.node(id);
  env.nodes.set(id, new EnvNode(old.config, old.storage));
  const hs = old.storage.initialState().hardState;
  env.out.push(
    `${id} restarted at term ${hs.term}, commit ${hs.commit}, log [${old.storage.firstIndex()},${old.storage.lastIndex()}]`,
  );
}
