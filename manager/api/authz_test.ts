import assert from "node:assert/strict";
import { NotMemberError, UnauthenticatedError } from "../../proto/errors.ts";
import type { CallWithAuth } from "../../net/grpc/tls.ts";
import { refuseRemoved, tlsGuard } from "./authz.ts";
import { applyCommand } from "../state/fsm.ts";
import { emptyState, fromSnapshot, toSnapshot } from "../state/fsm_state.ts";
import { node } from "../state/_fixtures_test_util.ts";

/** A server call whose verified client certificate names `nodeId` with `role`. */
function callFrom(nodeId: string, role: string, method: string): CallWithAuth {
  return {
    getAuthContext: () =>
      ({
        transportSecurityType: "ssl",
        sslPeerCertificate: { subject: { CN: nodeId, OU: role, O: "c1" } },
      }) as unknown as ReturnType<CallWithAuth["getAuthContext"]>,
    getPath: () => `/warren.v1.${method}`,
  };
}

Deno.test("authz: the certificate of a node removed from the cluster is refused", () => {
  const s = emptyState();
  applyCommand(s, { kind: "node.register", at: 1, node: { ...node("m2"), role: "manager" } });
  applyCommand(s, { kind: "node.register", at: 1, node: node("w1") });
  let state = s;
  const guard = refuseRemoved(tlsGuard, (id) => state.removedNodeIds.has(id));
  assert.equal(
    guard(callFrom("m2", "manager", "SecretService/List"), "SecretService/List")?.nodeId,
    "m2",
  );

  applyCommand(s, { kind: "node.remove", at: 2, id: "m2", force: true });
  applyCommand(s, { kind: "node.remove", at: 2, id: "w1", force: true });
  // What a manager restored from a snapshot knows as well.
  state = fromSnapshot(structuredClone(toSnapshot(s)));
  for (
    const method of ["SecretService/List", "ClusterService/GetJoinToken", "ServiceService/Create"]
  ) {
    assert.throws(
      () => guard(callFrom("m2", "manager", method), method),
      (err) => err instanceof UnauthenticatedError && /m2 was removed/.test(err.message),
    );
  }
  assert.throws(
    () => guard(callFrom("w1", "worker", "TunnelService/Open"), "TunnelService/Open", "w1"),
    UnauthenticatedError,
  );
  // `cluster leave` on a removed node hears that it is not a member (then cleans up its host).
  for (const [id, role] of [["m2", "manager"], ["w1", "worker"]]) {
    assert.throws(
      () => guard(callFrom(id!, role!, "ClusterService/Leave"), "ClusterService/Leave"),
      (err) => err instanceof NotMemberError && err.code === "not_found",
    );
  }
  // A removed worker still hears from the dispatcher that it is no longer a member.
  assert.equal(
    guard(callFrom("w1", "worker", "WorkerService/Register"), "WorkerService/Register", "w1")
      ?.nodeId,
    "w1",
  );
  // Admin clients are not nodes; other members are unaffected.
  assert.equal(
    guard(callFrom("m2", "admin", "SecretService/List"), "SecretService/List")?.role,
    "admin",
  );
  assert.equal(
    guard(callFrom("m3", "manager", "SecretService/List"), "SecretService/List")?.nodeId,
    "m3",
  );
});
