/**
 * `compact ID [INDEX]`: node ID's application takes a snapshot at INDEX (default: its applied
 * index) and its storage drops the entries up to it.
 * @module
 */
import type { Env } from "../env.ts";
import { argNode, type Args } from "../parse.ts";

export function compact(env: Env, args: Args): void {
  const n = env.node(argNode(args));
  const index = args.pos[1] ? Number(args.pos[1]) : n.appliedIndex;
  if (index > n.appliedIndex) {
    throw new Error(`cannot snapshot at ${index} beyond applied ${n.appliedIndex}`);
  }
  const snap = n.storage.createSnapshot(index, n.confStateAt(index), n.snapshotData(index));
  n.storage.compact(index);
  env.out.push(
    `snapshot at ${snap.meta.term}/${snap.meta.index} (${snap.data.byteLength} bytes), log now starts at ${n.storage.firstIndex()}`,
  );
}
