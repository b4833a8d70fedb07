import assert from "node:assert/strict";
import { RaftNode } from "./node.ts";
import { KvStorage } from "./kv_storage.ts";
import { KvStateMachine, put } from "./_kv_sm_test_util.ts";
import { knowsLeader, noTransport } from "./_node_cluster_test_util.ts";
import type { HaltingError } from "./state_machine.ts";
import { DeadlineExceededError, UnavailableError } from "../../proto/errors.ts";

class Halt extends Error implements HaltingError {
  readonly haltsNode = true as const;
}

/** Refuses key "bad" (a deterministic refusal) and halts on key "halt". */
class PickyStateMachine extends KvStateMachine {
  override apply(command: Uint8Array, index: number): unknown {
    const { k } = JSON.parse(new TextDecoder().decode(command)) as { k: string };
    if (k === "bad") throw new Error("refused");
    if (k === "halt") throw new Halt("cannot apply this: newer than this binary");
    return super.apply(command, index);
  }
}

Deno.test("raft node: a halting state machine error stops the node instead of skipping the entry", async () => {
  await using kv = await Deno.openKv(":memory:");
  const storage = await KvStorage.open(kv);
  const sm = new PickyStateMachine();
  await RaftNode.bootstrap(storage, { id: "a", address: "a", stateMachine: sm });
  const node = new RaftNode({
    id: "a",
    address: "a",
    storage,
    transport: noTransport,
    stateMachine: sm,
    tickMs: 2,
  });
  node.start();
  try {
    await knowsLeader(node);
    await node.propose(put("x", "1"));
    // A refusal: the caller gets it, the log moves on.
    await assert.rejects(node.propose(put("bad", "1")), /refused/);
    await node.propose(put("y", "1"));
    const beforeHalt = node.appliedIndex;
    // A halt: the node gives up at that entry and says why.
    const halted = node.propose(put("halt", "1"));
    const after = node.propose(put("z", "1"));
    await assert.rejects(halted, DeadlineExceededError);
    await assert.rejects(after, (err: unknown) => err instanceof Error);
    const err = await node.failed;
    assert.ok(err instanceof Halt && /newer than this binary/.test(err.message));
    assert.equal(sm.data.has("z"), false, "nothing after the halting entry applies");
    assert.deepEqual([...sm.data.keys()], ["x", "y"]);
    assert.equal(node.appliedIndex, beforeHalt, "the halting entry does not count as applied");
    assert.equal(node.leader.isLeader, false);
    assert.throws(() => node.propose(put("w", "1")), UnavailableError);
  } finally {
    await node.stop();
  }
});
