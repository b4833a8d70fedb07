/**
 * Minimal reproducers of Raft core issues the simulator found. Each test pins the current
 * (wrong) behaviour and says what the right one is: when the core is fixed the test fails, and
 * the simulator's workaround (named in the test) should be removed along with the test.
 * @module
 */
import assert from "node:assert/strict";
import { MemoryStorage } from "../../manager/raft/core/memory_storage.ts";
import { RaftCore } from "../../manager/raft/core/raft_core.ts";
import { runSimulation, SimFailure } from "./simulator.ts";

Deno.test("known core issue: a Ready installing a snapshot acknowledges it but has mustSync false", () => {
  // A follower with an empty log, already in term 1 (persisted), receives a whole snapshot in one
  // chunk.
  const storage = new MemoryStorage();
  const core = new RaftCore({ id: "b" }, storage);
  core.step({ type: "MsgHeartbeat", from: "a", to: "b", term: 1, commit: 0, context: "" });
  const first = core.ready();
  if (first.hardState) storage.setHardState(first.hardState);
  core.advance(first);
  const data = new TextEncoder().encode("state");
  core.step({
    type: "MsgSnap",
    from: "a",
    to: "b",
    term: 1,
    meta: { index: 10, term: 1, confState: { voters: ["a", "b", "c"], learners: [] } },
    offset: 0,
    totalBytes: data.length,
    data,
    done: true,
  });
  const rd = core.ready();
  assert.equal(rd.snapshot?.meta.index, 10);
  const ack = rd.messages.find((m) => m.type === "MsgAppResp");
  assert.ok(ack && ack.type === "MsgAppResp" && !ack.reject && ack.index === 10);
  // The acknowledgement promises index 10 is durable, so the shell must sync before sending it:
  // mustSync should be true here. With false, a shell that syncs only on mustSync acknowledges a
  // snapshot a crash then loses; the leader's heartbeat later carries commit 10 to a node whose
  // log ends earlier, and the core panics ("commit 10 is beyond last index ...").
  // Workaround: the simulator syncs every Ready that carries a snapshot (SimOptions.strictMustSync).
  assert.equal(rd.mustSync, false);
});

Deno.test("known core issue: the simulator catches it when it syncs only on mustSync", () => {
  // About 4 seeds in 5 fail this way within 1500 steps; look at the first 10.
  let failure: SimFailure | undefined;
  for (let seed = 1; seed <= 10 && !failure; seed++) {
    try {
      runSimulation({ seed, strictMustSync: true });
    } catch (err) {
      if (!(err instanceof SimFailure)) throw err;
      failure = err;
    }
  }
  assert.equal(failure?.check, "durability");
  assert.match(failure.message, /acknowledged index \d+ .* while its disk holds up to \d+/);
});
