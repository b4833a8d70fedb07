/**
 * WorkerService over gRPC: the dispatcher's methods with wire conversion. `authorize` (from the
 * security layer) checks that the caller's certificate names the node it speaks for.
 * @module
 */
import type { ServerUnaryCall, ServerWritableStream } from "@grpc/grpc-js";
import { codecs } from "../../proto/convert.ts";
import * as wire from "../../proto/gen/warren.ts";
import { IdSchema, parseOrThrow } from "../../proto/schema/mod.ts";
import { type CallObserver, serverStream, unary } from "../../net/grpc/adapter.ts";
import type { HostedService } from "../../net/grpc/server.ts";
import type { Dispatcher } from "./dispatcher.ts";

/** Checks that the caller may call `method` for `nodeId` (throws PermissionDenied/Unauthenticated). */
export type NodeAuthorizer = (
  call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>,
  method: string,
  nodeId: string,
) => void;

/** The WorkerService implementation. */
export function workerService(
  d: Dispatcher,
  opts: { authorize?: NodeAuthorizer; observe?: CallObserver } = {},
): HostedService {
  const auth = opts.authorize ?? (() => {});
  const nodeId = (v: string) => parseOrThrow(IdSchema, v, "nodeId");
  return {
    definition: wire.WorkerServiceService,
    implementation: {
      register: unary("WorkerService/Register", async (r: wire.RegisterRequest, call) => {
        const req = codecs.RegisterRequest.fromWire(r);
        auth(call as ServerUnaryCall<unknown, unknown>, "WorkerService/Register", req.nodeId);
        return codecs.RegisterResponse.toWire(await d.register(req));
      }, opts.observe),
      heartbeat: unary("WorkerService/Heartbeat", (r: wire.HeartbeatRequest, call) => {
        auth(
          call as ServerUnaryCall<unknown, unknown>,
          "WorkerService/Heartbeat",
          nodeId(r.nodeId),
        );
        return Promise.resolve(codecs.HeartbeatResponse.toWire(d.heartbeat(r.nodeId, r.sessionId)));
      }, opts.observe),
      assignments: serverStream(
        "WorkerService/Assignments",
        async function* (r: wire.AssignmentsRequest, signal, call) {
          auth(
            call as ServerWritableStream<unknown, unknown>,
            "WorkerService/Assignments",
            nodeId(r.nodeId),
          );
          for await (const m of d.assignments(r.nodeId, r.sessionId, signal)) {
            yield codecs.AssignmentsMessage.toWire(m);
          }
        },
        opts.observe,
      ),
      reportStatus: unary(
        "WorkerService/ReportStatus",
        async (r: wire.ReportStatusRequest, call) => {
          const req = codecs.ReportStatusRequest.fromWire(r);
          auth(call as ServerUnaryCall<unknown, unknown>, "WorkerService/ReportStatus", req.nodeId);
          await d.reportStatus(req.nodeId, req.sessionId, req.updates);
          return {};
        },
        opts.observe,
      ),
    },
  };
}
