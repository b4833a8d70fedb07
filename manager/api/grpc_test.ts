import assert from "node:assert/strict";
import type * as grpc from "@grpc/grpc-js";
import * as wire from "../../proto/gen/warren.ts";
import { type HostedService, startGrpcServer } from "../../net/grpc/server.ts";
import { REQUEST_ID_KEY } from "../../net/grpc/request_id.ts";
import { ManagerPool } from "../../net/client/manager_pool.ts";
import { node } from "../state/_fixtures_test_util.ts";
import { emptyState } from "../state/fsm_state.ts";
import { apiServices } from "./grpc.ts";
import type { ApiContext } from "./context.ts";

/** A manager node record whose API listens at `api`. */
function manager(id: string, api: string) {
  return {
    ...node(id),
    role: "manager" as const,
    addresses: { advertise: "127.0.0.1", api, raft: "127.0.0.1:1" },
  };
}

Deno.test("grpc api: a node removal handed to the leader carries the caller's request ID", async () => {
  // The leader: records the request ID of the removal it is handed.
  const seen: (string | undefined)[] = [];
  await using leader = await startGrpcServer({
    address: "127.0.0.1:0",
    services: [{
      definition: wire.NodeServiceService,
      implementation: {
        remove: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          seen.push(call.metadata.get(REQUEST_ID_KEY)[0]?.toString());
          cb(null, {});
        },
      },
    } as unknown as HostedService],
  });
  // A follower (m2) asked to remove manager m3, a Raft member: only the leader (m1) may judge.
  const state = emptyState();
  for (const n of [manager("m1", `127.0.0.1:${leader.port}`), manager("m3", "127.0.0.1:2")]) {
    state.nodes.set(n.id, n);
  }
  const ctx = {
    store: { state, index: 1 },
    raft: {
      leader: { leaderId: "m1", isLeader: false },
      read: () => Promise.resolve(),
      status: () => ({ config: { voters: ["m1", "m2", "m3"], learners: [] } }),
      members: { m1: "a", m2: "b", m3: "c" },
    },
    now: Date.now,
    nodeId: "m2",
  } as unknown as ApiContext;
  await using follower = await startGrpcServer({
    address: "127.0.0.1:0",
    services: apiServices(ctx),
  });
  using pool = new ManagerPool({ addresses: [`127.0.0.1:${follower.port}`] });
  const requestId = "test-request-000000000001";
  await pool.unary(wire.NodeServiceService.remove, { id: "m3", force: true }, { requestId });
  assert.deepEqual(seen, [requestId]);
});
