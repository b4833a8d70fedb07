/**
 * `add-nodes N [voters=(..)] [learners=(..)] [index=I] [prevote=B] [checkquorum=B] [readonly=safe|lease]
 * [election=T] [heartbeat=T] [max-size=B] [max-inflight=N] [snapshot-chunk=B] [max-uncommitted=B]
 * [log-terms=(t,..)] [term=T]`
 *
 * Adds N nodes with the next free numeric IDs. With `index=I` (> 0) each starts from a bootstrap
 * snapshot at index I, term 1, with the given configuration; otherwise with an empty log (a node
 * waiting to be added by a membership change). `log-terms` seeds entries I+1, I+2, ... with those
 * terms (to build the divergent logs of the paper's figures), and `term` the persisted term.
 * @module
 */
import type { RaftConfig, ReadOnlyOption } from "../../config.ts";
import { MemoryStorage } from "../../memory_storage.ts";
import type { Env } from "../env.ts";
import { argBool, argInt, argOne, type Args } from "../parse.ts";

export function addNodes(env: Env, args: Args): void {
  const n = Number(args.pos[0] ?? "1");
  const voters = args.kv.get("voters") ?? [];
  const learners = args.kv.get("learners") ?? [];
  const index = argInt(args, "index", 0)!;
  const readOnly = argOne(args, "readonly", "safe") as ReadOnlyOption;
  let next = env.nodes.size + 1;
  for (let i = 0; i < n; i++) {
    while (env.nodes.has(String(next))) next++;
    const id = String(next++);
    const storage = new MemoryStorage();
    if (index > 0) {
      storage.applySnapshot({
        meta: { index, term: 1, confState: { voters, learners } },
        data: new Uint8Array(),
      });
    }
    const terms = (args.kv.get("log-terms") ?? []).map(Number);
    storage.append(terms.map((t, k) => ({
      index: index + 1 + k,
      term: t,
      type: "normal" as const,
      data: new TextEncoder().encode(`t${t}i${index + 1 + k}`),
    })));
    const term = argInt(args, "term", 0)!;
    if (term > 0) storage.setHardState({ term, vote: "", commit: index });
    const config: RaftConfig = {
      id,
      electionTicks: argInt(args, "election", 10),
      heartbeatTicks: argInt(args, "heartbeat", 1),
      preVote: argBool(args, "prevote", true),
      checkQuorum: argBool(args, "checkquorum", true),
      readOnly,
      maxSizePerMsgBytes: argInt(args, "max-size", 1024 * 1024),
      maxInflightMsgs: argInt(args, "max-inflight", 256),
      snapshotChunkBytes: argInt(args, "snapshot-chunk", 512 * 1024),
      maxUncommittedEntriesBytes: argInt(args, "max-uncommitted", 64 * 1024 * 1024),
    };
    env.addNode(config, storage);
    env.out.push(`${id}: ${index > 0 ? `bootstrapped at index ${index}` : "empty log"}`);
  }
}
