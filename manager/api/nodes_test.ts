import assert from "node:assert/strict";
import { findNode, managerRemovalRefusal } from "./nodes.ts";
import { emptyState } from "../state/fsm_state.ts";
import { node } from "../state/_fixtures_test_util.ts";
import { NotFoundError, ValidationError } from "../../proto/errors.ts";
import type { ProgressStatus, Status } from "../raft/core/status.ts";

function progress(recentActive: boolean): ProgressStatus {
  return {
    match: 10,
    next: 11,
    state: "replicate",
    paused: false,
    inflight: 0,
    recentActive,
    isLearner: false,
    pendingSnapshot: 0,
  };
}

/** A leader "m1" with `voters`, hearing from those in `active`. */
function leaderStatus(voters: string[], active: string[], learners: string[] = []): Status {
  const ids = [...voters, ...learners].filter((id) => id !== "m1");
  return {
    id: "m1",
    term: 2,
    vote: "m1",
    commit: 10,
    applied: 10,
    lead: "m1",
    role: "leader",
    leadTransferee: "",
    config: { voters, learners },
    progress: Object.fromEntries(ids.map((id) => [id, progress(active.includes(id))])),
    firstIndex: 1,
    lastIndex: 10,
  };
}

Deno.test("node rm --force of a manager: a down voter goes when the others keep a quorum", () => {
  assert.equal(managerRemovalRefusal(leaderStatus(["m1", "m2", "m3"], ["m2"]), "m3"), undefined);
  assert.equal(
    managerRemovalRefusal(leaderStatus(["m1", "m2", "m3", "m4", "m5"], ["m2", "m3"]), "m5"),
    undefined,
  );
  // A learner never counted toward the quorum.
  assert.equal(managerRemovalRefusal(leaderStatus(["m1"], [], ["m2"]), "m2"), undefined);
});

Deno.test("node rm --force of a manager: refused for the leader, a running manager, or no majority", () => {
  const self = managerRemovalRefusal(leaderStatus(["m1", "m2", "m3"], ["m2", "m3"]), "m1");
  assert.match(self!.reason, /leader answering this request/);
  const running = managerRemovalRefusal(leaderStatus(["m1", "m2", "m3"], ["m2", "m3"]), "m3");
  assert.match(running!.reason, /still hears from it/);
  // Two managers, one down: the leader alone is no majority of two.
  const two = managerRemovalRefusal(leaderStatus(["m1", "m2"], []), "m2");
  assert.match(two!.reason, /only 1 of the 2 managers are reachable/);
  const five = managerRemovalRefusal(leaderStatus(["m1", "m2", "m3", "m4", "m5"], ["m2"]), "m5");
  assert.match(five!.reason, /only 2 of the 5 managers/);
});

Deno.test("findNode: by ID, by a unique host name; an ambiguous one lists the IDs", () => {
  const s = emptyState();
  for (const [id, hostname] of [["n1", "vm"], ["n2", "vm"], ["n3", "edge"]]) {
    s.nodes.set(id, { ...node(id), hostname });
  }
  assert.equal(findNode(s, "n2").id, "n2");
  assert.equal(findNode(s, "edge").id, "n3");
  assert.throws(() => findNode(s, "nope"), NotFoundError);
  assert.throws(
    () => findNode(s, "vm"),
    (err) =>
      err instanceof ValidationError &&
      err.message ===
        'node: host name "vm" is ambiguous: 2 nodes have it (n1, n2); use the node ID',
  );
});
