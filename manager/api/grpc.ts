/**
 * The gRPC face of the manager API: each method converts the wire request to domain types
 * (validating, so bad input fails with INVALID_ARGUMENT naming the field), calls the transport-
 * free handler, and converts the result back. Errors map to statuses in net/grpc/status.ts.
 * @module
 */
import { codecs } from "../../proto/convert.ts";
import * as wire from "../../proto/gen/warren.ts";
import { IdSchema, NodeRoleSchema, parseOrThrow } from "../../proto/schema/mod.ts";
import { NotLeaderError, PermissionDeniedError, UnauthenticatedError } from "../../proto/errors.ts";
import { fromGrpcError } from "../../net/grpc/status.ts";
import { REQUEST_ID_KEY, requestIdMetadata, requestIdOf } from "../../net/grpc/request_id.ts";
import { LeaderChannel } from "./_leader_channel.ts";
import {
  acceptEncodedResponses,
  type CallObserver,
  serverStream,
  unary,
} from "../../net/grpc/adapter.ts";
import type { HostedService } from "../../net/grpc/server.ts";
import { type ApiContext, withRequestId } from "./context.ts";
import * as services from "./services.ts";
import { ServiceListEncoder } from "./service_list_encoder.ts";
import * as nodes from "./nodes.ts";
import { listTasks } from "./tasks.ts";
import * as volumes from "./volumes.ts";
import { watchEvents } from "./events.ts";
import { clusterInfo } from "./cluster.ts";
import * as secrets from "./secrets.ts";
import * as membership from "./membership.ts";
import * as autolock from "./autolock.ts";
import { type Guard, openGuard } from "./authz.ts";
import { logsExecServices } from "./logs_exec.ts";
import type { CallWithAuth } from "../../net/grpc/tls.ts";

const id = (v: string) => parseOrThrow(IdSchema, v, "id");

/** The user-facing gRPC services of a manager; `guard` enforces who may call what. */
export function apiServices(
  ctx: ApiContext,
  observe?: CallObserver,
  guard: Guard = openGuard,
): HostedService[] {
  const u = <Req, Res>(
    m: string,
    fn: (req: Req, caller: ReturnType<Guard>) => Promise<Res>,
  ) =>
    unary<Req, Res>(m, (req, call) => fn(req, guard(call as unknown as CallWithAuth, m)), observe);
  // Writes a client may send again after losing the answer: the request ID it sends with each
  // attempt (warren-request-id) rides with the call, so a repeat gets the first outcome
  // (context.ts answerOnce). Only handlers that make one replicated write and answer with its
  // result: a join-token rotation or an autolock change answers with what the handler made.
  const once = <Req, Res>(
    m: string,
    fn: (req: Req, ctx: ApiContext, caller: ReturnType<Guard>) => Promise<Res>,
  ) =>
    unary<Req, Res>(m, (req, call) => {
      const caller = guard(call as unknown as CallWithAuth, m);
      return fn(req, withRequestId(ctx, requestIdOf(call.metadata), REQUEST_ID_KEY), caller);
    }, observe);
  // Logs and exec go through the worker tunnels (logs_exec.ts); TLS is on when the guard is.
  const streams = logsExecServices(ctx, { guard, observe, secure: guard !== openGuard });
  const serviceList = new ServiceListEncoder();
  // Opened on first use: only calls that the leader alone can judge are handed over.
  const leader = new LeaderChannel(ctx, { secure: guard !== openGuard });
  return [
    streams.tunnel,
    {
      definition: wire.ClusterServiceService,
      implementation: {
        getInfo: u(
          "ClusterService/GetInfo",
          async (r: wire.GetClusterInfoRequest) =>
            codecs.ClusterInfo.toWire(await clusterInfo(ctx, r.stale)),
        ),
        getJoinToken: u("ClusterService/GetJoinToken", async (r: wire.GetJoinTokenRequest) => {
          const req = codecs.GetJoinTokenRequest.fromWire(r);
          return codecs.JoinToken.toWire(await membership.getJoinToken(ctx, req.role, req.rotate));
        }),
        join: u("ClusterService/Join", async (r: wire.JoinRequest) =>
          codecs.JoinResponse.toWire(
            await membership.joinCluster(ctx, codecs.JoinRequest.fromWire(r)),
          )),
        leave: u("ClusterService/Leave", async (r: wire.LeaveRequest, caller) => {
          const req = codecs.LeaveRequest.fromWire(r);
          if (caller?.role === "worker" && caller.nodeId !== req.nodeId) {
            throw new PermissionDeniedError(
              `node ${caller.nodeId} may only remove itself, not ${req.nodeId}`,
            );
          }
          await membership.leaveCluster(ctx, req.nodeId, req.force);
          return {};
        }),
        renewCertificate: u(
          "ClusterService/RenewCertificate",
          async (r: wire.RenewCertificateRequest, caller) => {
            const req = codecs.RenewCertificateRequest.fromWire(r);
            if (!caller) {
              throw new UnauthenticatedError("renewal needs the current client certificate");
            }
            return codecs.CertificateResponse.toWire(
              await membership.renewCertificate(ctx, caller, req.csrPem),
            );
          },
        ),
        updateAutolock: u(
          "ClusterService/UpdateAutolock",
          async (r: wire.UpdateAutolockRequest) =>
            codecs.UnlockKey.toWire(
              await autolock.updateAutolock(ctx, codecs.UpdateAutolockRequest.fromWire(r)),
            ),
        ),
        getUnlockKey: u(
          "ClusterService/GetUnlockKey",
          async () => codecs.UnlockKey.toWire(await autolock.getUnlockKey(ctx)),
        ),
        unlock: u("ClusterService/Unlock", async (r: wire.UnlockRequest) => {
          await autolock.unlockManager(ctx, codecs.UnlockRequest.fromWire(r).unlockKey);
          return {};
        }),
        issueCertificate: u(
          "ClusterService/IssueCertificate",
          async (r: wire.IssueCertificateRequest) => {
            const req = codecs.IssueCertificateRequest.fromWire(r);
            return codecs.CertificateResponse.toWire(
              await membership.issueAdminCertificate(ctx, req.name, req.csrPem),
            );
          },
        ),
      },
    },
    {
      definition: wire.SecretServiceService,
      implementation: {
        create: once(
          "SecretService/Create",
          async (r: wire.CreateSecretRequest, ctx) =>
            codecs.Secret.toWire(
              await secrets.createSecret(ctx, codecs.CreateSecretRequest.fromWire(r)),
            ),
        ),
        update: once(
          "SecretService/Update",
          async (r: wire.UpdateSecretRequest, ctx) =>
            codecs.Secret.toWire(
              await secrets.updateSecret(ctx, codecs.UpdateSecretRequest.fromWire(r)),
            ),
        ),
        list: u(
          "SecretService/List",
          async (r: wire.ListSecretsRequest) =>
            codecs.ListSecretsResponse.toWire(await secrets.listSecrets(ctx, r.stale)),
        ),
        inspect: u(
          "SecretService/Inspect",
          async (r: wire.InspectSecretRequest) =>
            codecs.Secret.toWire(await secrets.inspectSecret(ctx, id(r.id), r.stale)),
        ),
        delete: once("SecretService/Delete", async (r: wire.DeleteSecretRequest, ctx) => {
          await secrets.deleteSecret(ctx, id(r.id));
          return {};
        }),
      },
    },
    {
      definition: wire.NodeServiceService,
      implementation: {
        list: u("NodeService/List", async (r: wire.ListNodesRequest) => {
          const req = codecs.ListNodesRequest.fromWire(r);
          const role = req.role === undefined ? undefined : NodeRoleSchema.parse(req.role);
          return codecs.ListNodesResponse.toWire(
            await nodes.listNodes(ctx, { stale: req.stale, role }),
          );
        }),
        inspect: u(
          "NodeService/Inspect",
          async (r: wire.InspectNodeRequest) =>
            codecs.Node.toWire(await nodes.inspectNode(ctx, id(r.id), r.stale)),
        ),
        update: once("NodeService/Update", async (r: wire.UpdateNodeRequest, ctx) => {
          const req = codecs.UpdateNodeRequest.fromWire(r);
          // The update alone: it becomes part of a Raft command, whose schema is strict.
          const { id: nodeId, ...update } = req;
          return codecs.Node.toWire(await nodes.updateNode(ctx, nodeId, update));
        }),
        remove: once("NodeService/Remove", async (r: wire.RemoveNodeRequest, ctx) => {
          try {
            await nodes.removeNode(ctx, id(r.id), r.force);
          } catch (err) {
            // Taking a manager out of Raft is judged by the leader (nodes.ts): hand it over.
            if (!(err instanceof NotLeaderError) || !ctx.raft.leader.leaderId) throw err;
            const m = wire.NodeServiceService.remove;
            const client = await leader.client();
            await new Promise<void>((resolve, reject) =>
              client.makeUnaryRequest(
                m.path,
                m.requestSerialize,
                m.responseDeserialize,
                r,
                // The leader answers a repeat of the request alike: the ID goes along.
                requestIdMetadata(ctx.requestId),
                (e) => e ? reject(fromGrpcError(e)) : resolve(),
              )
            );
          }
          return {};
        }),
      },
    },
    {
      // List answers with cached bytes (service_list_encoder.ts).
      definition: acceptEncodedResponses(wire.ServiceServiceService, "list"),
      implementation: {
        create: once("ServiceService/Create", async (r: wire.CreateServiceRequest, ctx) => {
          const req = codecs.CreateServiceRequest.fromWire(r);
          return codecs.Service.toWire(await services.createService(ctx, req.spec));
        }),
        list: u(
          "ServiceService/List",
          (r: wire.ListServicesRequest) => services.listServicesEncoded(ctx, r.stale, serviceList),
        ),
        inspect: u(
          "ServiceService/Inspect",
          async (r: wire.InspectServiceRequest) =>
            codecs.Service.toWire(await services.inspectService(ctx, id(r.id), r.stale)),
        ),
        update: once("ServiceService/Update", async (r: wire.UpdateServiceRequest, ctx) => {
          const req = codecs.UpdateServiceRequest.fromWire(r);
          return codecs.Service.toWire(
            await services.updateService(ctx, req.id, req.spec, req),
          );
        }),
        scale: once("ServiceService/Scale", async (r: wire.ScaleServiceRequest, ctx) => {
          const req = codecs.ScaleServiceRequest.fromWire(r);
          return codecs.Service.toWire(await services.scaleService(ctx, req.id, req.replicas));
        }),
        delete: once("ServiceService/Delete", async (r: wire.DeleteServiceRequest, ctx) => {
          await services.deleteService(ctx, id(r.id));
          return {};
        }),
        rollback: once(
          "ServiceService/Rollback",
          async (r: wire.RollbackServiceRequest, ctx) =>
            codecs.Service.toWire(await services.rollbackService(ctx, id(r.id))),
        ),
      },
    },
    {
      definition: wire.TaskServiceService,
      implementation: {
        list: u("TaskService/List", async (r: wire.ListTasksRequest) => {
          const req = codecs.ListTasksRequest.fromWire(r);
          return codecs.ListTasksResponse.toWire(await listTasks(ctx, req));
        }),
        ...streams.taskMethods,
      },
    },
    {
      definition: wire.VolumeServiceService,
      implementation: {
        create: once(
          "VolumeService/Create",
          async (r: wire.CreateVolumeRequest, ctx) =>
            codecs.Volume.toWire(
              await volumes.createVolume(ctx, codecs.CreateVolumeRequest.fromWire(r)),
            ),
        ),
        list: u(
          "VolumeService/List",
          async (r: wire.ListVolumesRequest) =>
            codecs.ListVolumesResponse.toWire(await volumes.listVolumes(ctx, r.stale)),
        ),
        inspect: u(
          "VolumeService/Inspect",
          async (r: wire.InspectVolumeRequest) =>
            codecs.Volume.toWire(await volumes.inspectVolume(ctx, id(r.id), r.stale)),
        ),
        delete: once("VolumeService/Delete", async (r: wire.DeleteVolumeRequest, ctx) => {
          await volumes.deleteVolume(ctx, id(r.id), { force: r.force });
          return {};
        }),
      },
    },
    {
      definition: wire.EventServiceService,
      implementation: {
        watch: serverStream(
          "EventService/Watch",
          async function* (r: wire.WatchRequest, signal: AbortSignal, call) {
            guard(call as unknown as CallWithAuth, "EventService/Watch");
            const req = codecs.WatchRequest.fromWire(r);
            for await (const e of watchEvents(ctx, req, signal)) yield codecs.Event.toWire(e);
          },
          observe,
        ),
      },
    },
  ];
}
