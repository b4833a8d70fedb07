/**
 * Service handlers: create, list, inspect, update, scale, delete, rollback.
 * @module
 */
import type { Service, ServiceSpec } from "../../proto/schema/mod.ts";
import { ValidationError } from "../../proto/errors.ts";
import { missingSecretRefs, specChangeRefusal } from "../../proto/service_rules.ts";
import { answerOnce, type ApiContext, readBarrier, resolve, write } from "./context.ts";
import type { ClusterState } from "../state/fsm_state.ts";
import type { ServiceListEncoder } from "./service_list_encoder.ts";

/**
 * Creates a service from a spec parsed by ServiceSpecSchema (both API faces parse requests
 * before calling): the rest of the command is an ID and timestamps, so it is not parsed again.
 * A repeat of the call's request ID answers with the service the first one created.
 */
export function createService(ctx: ApiContext, spec: ServiceSpec): Promise<Service> {
  return answerOnce(ctx, "service.create", () => ({ spec }), async (ctx) => {
    await checkSecretsExist(ctx, spec);
    const at = ctx.now();
    const service: Service = {
      id: ctx.newId(),
      spec,
      specVersion: 1,
      revision: 1,
      createdAt: at,
      updatedAt: at,
    };
    return await write<Service>(
      ctx,
      { kind: "service.create", at, service, exclusivePorts: true },
      { validated: true },
    );
  });
}

/**
 * Refuses a spec that names a secret that does not exist (proto/service_rules.ts). Only specs
 * that name secrets pay for the read.
 */
async function checkSecretsExist(ctx: ApiContext, spec: ServiceSpec): Promise<void> {
  if (spec.secrets.length === 0 && !spec.registryAuthSecret) return;
  const s = await readBarrier(ctx, false);
  const [missing] = missingSecretRefs(spec, (name) => s.secretIdByName.has(name));
  if (missing) throw new ValidationError(missing.field, missing.reason);
}

/** Lists services (sorted by name) and the index they reflect. */
export async function listServices(
  ctx: ApiContext,
  stale: boolean,
): Promise<{ services: Service[]; index: number }> {
  const s = await readBarrier(ctx, stale);
  const services = [...s.services.values()].sort((a, b) => a.spec.name < b.spec.name ? -1 : 1);
  return { services, index: ctx.store.index };
}

/**
 * The same list as {@link listServices}, as an encoded `ListServicesResponse` (for gRPC: the
 * encoder reuses the encoding of unchanged services).
 */
export async function listServicesEncoded(
  ctx: ApiContext,
  stale: boolean,
  encoder: ServiceListEncoder,
): Promise<Uint8Array> {
  const s = await readBarrier(ctx, stale);
  return encoder.encode(s.services, ctx.store.index);
}

/** One service by ID or name. */
export async function inspectService(
  ctx: ApiContext,
  idOrName: string,
  stale: boolean,
): Promise<Service> {
  return findService(await readBarrier(ctx, stale), idOrName);
}

/** What an update expects the service to be at (optimistic concurrency); see UpdateServiceRequest. */
export interface UpdateExpectation {
  expectedSpecVersion?: number;
  expectedRevision?: number;
  /** Replace every task, even when the spec changes none of them. */
  force?: boolean;
}

/**
 * Replaces a service's spec (a new spec version; the old one is kept for rollback). Like every
 * write here, a repeat of the call's request ID is not applied again ({@link answerOnce}).
 */
export function updateService(
  ctx: ApiContext,
  idOrName: string,
  spec: ServiceSpec,
  expect: UpdateExpectation = {},
): Promise<Service> {
  const request = () => ({
    id: idOrName,
    spec,
    expectedSpecVersion: expect.expectedSpecVersion,
    expectedRevision: expect.expectedRevision,
    force: expect.force ?? false,
  });
  return answerOnce(ctx, "service.update", request, async (ctx) => {
    const cur = findService(await readBarrier(ctx, false), idOrName);
    await checkSecretsExist(ctx, spec);
    const refused = specChangeRefusal(cur.spec, spec);
    if (refused) throw new ValidationError(refused.field, refused.reason);
    return write<Service>(ctx, {
      kind: "service.update",
      at: ctx.now(),
      id: cur.id,
      spec,
      expectedSpecVersion: expect.expectedSpecVersion,
      expectedRevision: expect.expectedRevision,
      exclusivePorts: true,
      // Without it the new spec is a new version whatever it changed: every task is replaced.
      ...(expect.force ? {} : { keepsUnchangedTasks: true as const }),
    });
  });
}

/**
 * Sets the replica count of a replicated service. Like any update it keeps the spec it replaced
 * for rollback (unless a rollout is under way); it replaces no task.
 */
export function scaleService(
  ctx: ApiContext,
  idOrName: string,
  replicas: number,
): Promise<Service> {
  return answerOnce(ctx, "service.scale", () => ({ id: idOrName, replicas }), async (ctx) => {
    const cur = findService(await readBarrier(ctx, false), idOrName);
    return write<Service>(ctx, {
      kind: "service.scale",
      at: ctx.now(),
      id: cur.id,
      replicas,
      keepsPreviousSpec: true,
    });
  });
}

/** Returns the service to its previous spec. */
export function rollbackService(ctx: ApiContext, idOrName: string): Promise<Service> {
  return answerOnce(ctx, "service.rollback", () => ({ id: idOrName }), async (ctx) => {
    const cur = findService(await readBarrier(ctx, false), idOrName);
    return write<Service>(ctx, {
      kind: "service.rollback",
      at: ctx.now(),
      id: cur.id,
      exclusivePorts: true,
      keepsUnchangedTasks: true,
    });
  });
}

/** Deletes a service; its tasks are shut down. */
export async function deleteService(ctx: ApiContext, idOrName: string): Promise<void> {
  await answerOnce(ctx, "service.delete", () => ({ id: idOrName }), async (ctx) => {
    const cur = findService(await readBarrier(ctx, false), idOrName);
    await write(ctx, { kind: "service.delete", at: ctx.now(), id: cur.id });
  }, () => {});
}

function findService(s: ClusterState, idOrName: string): Service {
  return resolve(s.services, s.serviceIdByName, idOrName, "service");
}
