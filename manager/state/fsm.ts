/**
 * The deterministic finite state machine: applies one replicated command to the cluster state.
 * Pure (no clock, no randomness, no I/O: checked by tests/arch_test.ts): every manager applies
 * the same commands in the same order and ends with the same state. A command that cannot apply
 * throws a typed error before changing anything, so it fails alike everywhere.
 * @module
 */
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from "../../proto/errors.ts";
import {
  canTransition,
  type EncryptedData,
  isTerminal,
  MAX_SAME_SPEC_VERSIONS,
  type Node,
  sameTaskDefinition,
  type Service,
  serviceRevision,
  type StoredSecret,
  type Task,
  type Volume,
} from "../../proto/schema/mod.ts";
import { publishedPortConflict, publishedPortKeys } from "../../proto/service_rules.ts";
import type { Command } from "./commands.ts";
import {
  type ClusterState,
  deleteServiceIndexed,
  indexTask,
  putServiceIndexed,
  servicesPublishing,
  tasksOfService,
  unindexTask,
} from "./fsm_state.ts";
import { allocateSubnet, allocateVip } from "./fsm_ipam.ts";
import { failed, rememberRequest, replayRequest, succeeded } from "./fsm_requests.ts";
import {
  activeFeatureLevel,
  BASE_FEATURE_LEVEL,
  BINARY_FEATURE_LEVEL,
  CannotApplyError,
  clusterSupports,
  FeatureLevelTooHighError,
  managersBelow,
  TASK_RESERVES_LEVEL,
  UnknownCommandError,
} from "./fsm_feature_level.ts";

/** One object that a command created, updated or deleted. */
export type Change =
  | { kind: "node"; action: ChangeAction; node: Node }
  | { kind: "service"; action: ChangeAction; service: Service }
  | { kind: "task"; action: ChangeAction; task: Task }
  | { kind: "secret"; action: ChangeAction; secret: StoredSecret }
  | { kind: "volume"; action: ChangeAction; volume: Volume };
/** What happened to an object. */
export type ChangeAction = "create" | "update" | "delete";

/** The outcome of applying a command: its result for the proposer and the changes made. */
export interface Applied {
  result: unknown;
  changes: Change[];
}

/**
 * Applies `cmd` to `s` in place. Throws (changing nothing but the request table) when the
 * command cannot apply. A command with a request ID the state remembers is a client's retry of
 * a write that applied already: it is not applied again, and answers (or throws) as the first
 * one did (fsm_requests.ts), unless both carry request fingerprints that differ: then the ID
 * was reused for another request, which is refused (RequestIdReusedError). Entries without an
 * ID apply as they always did, and entries without a fingerprint answer as before.
 *
 * `binaryLevel` is the feature level of the binary applying it (fsm_feature_level.ts; injected by
 * tests): a command that would put the cluster above it, or of a kind this binary does not know,
 * throws a HaltingError and changes nothing at all: this manager must stop, not skip it.
 */
export function applyCommand(
  s: ClusterState,
  cmd: Command,
  binaryLevel: number = BINARY_FEATURE_LEVEL,
): Applied {
  assertWithinLevel(cmd, binaryLevel);
  const requestId = cmd.requestId;
  if (requestId === undefined) return applyKind(s, cmd, binaryLevel);
  const fingerprint = cmd.requestFingerprint;
  const first = s.requests.get(requestId);
  if (first) {
    // Compared here, not only before proposing: two requests with one ID and different bodies
    // may both pass the API's check, and only the first of them to apply may.
    return { result: replayRequest(s, requestId, first, cmd.kind, { fingerprint }), changes: [] };
  }
  let applied: Applied;
  try {
    applied = applyKind(s, cmd, binaryLevel);
  } catch (err) {
    if (err instanceof CannotApplyError) throw err;
    rememberRequest(s, requestId, failed(cmd.kind, err, fingerprint));
    throw err;
  }
  rememberRequest(s, requestId, succeeded(cmd.kind, applied.result, fingerprint));
  return applied;
}

/** Throws when `cmd` puts the cluster above the feature level of this binary. */
function assertWithinLevel(cmd: Command, binaryLevel: number): void {
  const level = cmd.kind === "cluster.init"
    ? cmd.cluster.featureLevel ?? BASE_FEATURE_LEVEL
    : cmd.kind === "cluster.featureLevel"
    ? cmd.level
    : BASE_FEATURE_LEVEL;
  if (level > binaryLevel) throw new FeatureLevelTooHighError(binaryLevel, level);
}

function applyKind(s: ClusterState, cmd: Command, binaryLevel: number): Applied {
  switch (cmd.kind) {
    case "cluster.init":
      if (s.cluster && s.cluster.id !== cmd.cluster.id) {
        throw new AlreadyExistsError("cluster", s.cluster.id);
      }
      s.cluster = cmd.cluster;
      return { result: cmd.cluster, changes: [] };
    case "token.set":
      s.tokens = { ...s.tokens, [cmd.token.role]: cmd.token };
      return { result: undefined, changes: [] };
    case "cluster.autolock": {
      const security = s.cluster?.security;
      if (!s.cluster || !security) {
        throw new FailedPreconditionError("the cluster has no keys yet: autolock cannot change");
      }
      if (cmd.replaces !== undefined && !sameSealed(cmd.replaces, security.unlockKey)) {
        throw new FailedPreconditionError(
          "the unlock key changed while this autolock change was made; run it again",
        );
      }
      const { unlockKey: _old, ...rest } = security;
      s.cluster = {
        ...s.cluster,
        security: cmd.unlockKey ? { ...rest, unlockKey: cmd.unlockKey } : rest,
      };
      return { result: undefined, changes: [] };
    }
    case "node.register": {
      const prev = s.nodes.get(cmd.node.id);
      // A node that registers again (restart, new address) keeps what operators set on it, and
      // the feature level its manager reported unless it reports one: a worker session's
      // registration of the node carries none.
      const featureLevel = cmd.node.featureLevel ?? prev?.featureLevel;
      const node: Node = prev
        ? {
          ...cmd.node,
          availability: prev.availability,
          labels: { ...cmd.node.labels, ...prev.labels },
          ...(featureLevel !== undefined ? { featureLevel } : {}),
          createdAt: prev.createdAt,
          updatedAt: cmd.at,
        }
        : cmd.node;
      if (!s.nodeSubnets.has(node.id) && s.cluster) {
        const c = s.cluster.cidrs;
        s.nodeSubnets.set(
          node.id,
          allocateSubnet(
            c.clusterCidr,
            c.nodeSubnetBits,
            s.nodeSubnets.values(),
            `node "${node.hostname}"`,
          ),
        );
      }
      s.nodes.set(node.id, node);
      return {
        result: node,
        changes: [{ kind: "node", action: prev ? "update" : "create", node }],
      };
    }
    case "node.update": {
      const prev = mustGet(s.nodes, cmd.id, "node");
      const labels = { ...prev.labels, ...cmd.update.labelsAdd };
      for (const k of cmd.update.labelsRemove) delete labels[k];
      const node: Node = {
        ...prev,
        availability: cmd.update.availability ?? prev.availability,
        role: cmd.update.role ?? prev.role,
        labels,
        updatedAt: cmd.at,
      };
      s.nodes.set(node.id, node);
      return { result: node, changes: [{ kind: "node", action: "update", node }] };
    }
    case "node.status": {
      const prev = mustGet(s.nodes, cmd.id, "node");
      const node: Node = { ...prev, status: cmd.status, updatedAt: cmd.at };
      s.nodes.set(node.id, node);
      return { result: node, changes: [{ kind: "node", action: "update", node }] };
    }
    case "node.remove": {
      const prev = mustGet(s.nodes, cmd.id, "node");
      if (prev.status.state === "ready" && !cmd.force) {
        throw new FailedPreconditionError(
          `node "${prev.hostname}" (${prev.id}) is ready: drain it and stop it first, or remove it with --force`,
        );
      }
      s.nodes.delete(prev.id);
      s.nodeSubnets.delete(prev.id);
      s.removedNodeIds.add(prev.id);
      return { result: undefined, changes: [{ kind: "node", action: "delete", node: prev }] };
    }
    case "service.create": {
      const sv = withVip(s, cmd.service, undefined);
      if (s.serviceIdByName.has(sv.spec.name)) {
        throw new AlreadyExistsError("service", sv.spec.name);
      }
      if (s.services.has(sv.id)) throw new AlreadyExistsError("service", sv.id);
      if (cmd.exclusivePorts) checkPorts(s, sv.spec, sv.id, undefined);
      putServiceIndexed(s, sv, undefined);
      return { result: sv, changes: [{ kind: "service", action: "create", service: sv }] };
    }
    case "service.update": {
      const prev = mustGet(s.services, cmd.id, "service");
      if (cmd.expectedSpecVersion !== undefined && cmd.expectedSpecVersion !== prev.specVersion) {
        throw new FailedPreconditionError(
          `service "${prev.spec.name}" is at spec version ${prev.specVersion}, not ${cmd.expectedSpecVersion}: it changed since you read it`,
        );
      }
      if (cmd.expectedRevision !== undefined && cmd.expectedRevision !== serviceRevision(prev)) {
        throw new FailedPreconditionError(
          `service "${prev.spec.name}" is at revision ${
            serviceRevision(prev)
          }, not ${cmd.expectedRevision}: it was updated or scaled since you read it`,
        );
      }
      if (cmd.spec.name !== prev.spec.name && s.serviceIdByName.has(cmd.spec.name)) {
        throw new AlreadyExistsError("service", cmd.spec.name);
      }
      if (cmd.exclusivePorts) checkPorts(s, cmd.spec, prev.id, prev.spec);
      // A new spec starts a new rolling update: any paused or finished one is over (as in
      // Swarm, an update resumes a paused rollout).
      const { updateStatus: _, ...rest } = withoutVersionSets(prev);
      return putService(
        s,
        withVip(s, {
          ...rest,
          spec: cmd.spec,
          previousSpec: prev.spec,
          ...nextVersions(prev, cmd.spec, cmd.keepsUnchangedTasks === true),
          revision: serviceRevision(prev) + 1,
          updatedAt: cmd.at,
        }, prev),
        prev,
      );
    }
    case "service.scale": {
      const prev = mustGet(s.services, cmd.id, "service");
      if (prev.spec.mode !== "replicated") {
        throw new FailedPreconditionError(
          `service "${prev.spec.name}" is global: it runs one task per node and cannot be scaled`,
        );
      }
      // Scaling changes no task's definition: no new spec version. A new revision: an update
      // read before the scale must not put the old count back.
      const spec = { ...prev.spec, replicas: cmd.replicas };
      if (!cmd.keepsPreviousSpec || rolloutUnderWay(prev) || cmd.replicas === prev.spec.replicas) {
        // Rollback target unchanged: entries from before the flag; a scale during a rollout,
        // whose rollback (asked or automatic) must still restore the spec before it; and a
        // scale that changes nothing, which has nothing to undo.
        return putService(s, {
          ...prev,
          spec,
          revision: serviceRevision(prev) + 1,
          updatedAt: cmd.at,
        }, prev);
      }
      // As in Swarm, a scale is an update: what it replaced is what a rollback restores (the
      // version sets as for an update that changes no task's definition).
      return putService(s, {
        ...withoutVersionSets(prev),
        spec,
        previousSpec: prev.spec,
        ...nextVersions(prev, spec, true),
        revision: serviceRevision(prev) + 1,
        updatedAt: cmd.at,
      }, prev);
    }
    case "service.rollback": {
      const prev = mustGet(s.services, cmd.id, "service");
      if (!prev.previousSpec) {
        throw new FailedPreconditionError(
          `service "${prev.spec.name}" has no previous spec to roll back to`,
        );
      }
      if (
        prev.previousSpec.name !== prev.spec.name &&
        s.serviceIdByName.has(prev.previousSpec.name)
      ) throw new AlreadyExistsError("service", prev.previousSpec.name);
      if (cmd.exclusivePorts) checkPorts(s, prev.previousSpec, prev.id, prev.spec);
      const rest = withoutVersionSets(prev);
      return putService(
        s,
        withVip(s, {
          ...rest,
          spec: prev.previousSpec,
          previousSpec: prev.spec,
          ...(cmd.keepsUnchangedTasks ? nextVersions(prev, prev.previousSpec, true) : {
            specVersion: prev.specVersion + 1,
            // The restored spec is the one of the version before: its tasks stay as they are.
            // Not after a version that changed no spec (a secret's new data): the older tasks
            // may hold data the rollback cannot bring back.
            ...(sameSpec(prev.previousSpec, prev.spec)
              ? {}
              : { sameSpecVersion: prev.specVersion - 1 }),
          }),
          revision: serviceRevision(prev) + 1,
          updateStatus: {
            state: "rollback_started",
            message: "rollback requested",
            startedAt: cmd.at,
          },
          updatedAt: cmd.at,
        }, prev),
        prev,
      );
    }
    case "service.updateStatus": {
      const prev = mustGet(s.services, cmd.id, "service");
      return putService(s, { ...prev, updateStatus: cmd.updateStatus, updatedAt: cmd.at }, prev);
    }
    case "service.delete": {
      const prev = mustGet(s.services, cmd.id, "service");
      deleteServiceIndexed(s, prev);
      const changes: Change[] = [{ kind: "service", action: "delete", service: prev }];
      // Its tasks are told to shut down; workers stop them and the reaper removes them.
      for (const t of tasksOfService(s, prev.id)) {
        if (t.desiredState === "shutdown" || isTerminal(t.status.state)) continue;
        const task: Task = { ...t, desiredState: "shutdown", updatedAt: cmd.at };
        indexTask(s, task);
        changes.push({ kind: "task", action: "update", task });
      }
      return { result: undefined, changes };
    }
    case "task.create": {
      for (const t of cmd.tasks) {
        if (s.tasks.has(t.id)) throw new AlreadyExistsError("task", t.id);
        mustGet(s.services, t.serviceId, "service");
      }
      // Below its level, `reserves` is dropped as a manager of level 1 drops it (its schema
      // strips the unknown field): every manager then holds the same tasks, whoever proposed.
      const tasks = clusterSupports(s, TASK_RESERVES_LEVEL)
        ? cmd.tasks
        : cmd.tasks.map(({ reserves: _, ...t }) => t);
      for (const t of tasks) indexTask(s, t);
      return {
        result: tasks.length,
        changes: tasks.map((task) => ({ kind: "task", action: "create", task })),
      };
    }
    case "task.update": {
      const changes: Change[] = [];
      for (const c of cmd.changes) {
        const prev = s.tasks.get(c.id);
        // Reports about reaped tasks, and moves backwards, are stale: ignored alike everywhere.
        if (!prev) continue;
        if (c.status && !canTransition(prev.status.state, c.status.state)) continue;
        if (c.desiredState && !canTransition(prev.desiredState, c.desiredState)) continue;
        const task: Task = {
          ...prev,
          status: c.status ?? prev.status,
          desiredState: c.desiredState ?? prev.desiredState,
          nodeId: c.nodeId ?? prev.nodeId,
          updatedAt: cmd.at,
        };
        indexTask(s, task);
        changes.push({ kind: "task", action: "update", task });
      }
      return { result: changes.length, changes };
    }
    case "task.delete": {
      const changes: Change[] = [];
      for (const id of cmd.ids) {
        const task = unindexTask(s, id);
        if (task) changes.push({ kind: "task", action: "delete", task });
      }
      return { result: changes.length, changes };
    }
    case "secret.create": {
      const x = cmd.secret;
      if (s.secretIdByName.has(x.name)) throw new AlreadyExistsError("secret", x.name);
      if (s.secrets.has(x.id)) throw new AlreadyExistsError("secret", x.id);
      s.secrets.set(x.id, x);
      s.secretIdByName.set(x.name, x.id);
      return { result: x, changes: [{ kind: "secret", action: "create", secret: x }] };
    }
    case "secret.delete": {
      const prev = mustGet(s.secrets, cmd.id, "secret");
      const users = [...s.services.values()].filter((sv) =>
        sv.spec.secrets.some((r) => r.secret === prev.name) ||
        sv.spec.registryAuthSecret === prev.name
      );
      if (users.length > 0) {
        throw new FailedPreconditionError(
          `secret "${prev.name}" is in use by service ${names(users)}: remove it from them first`,
        );
      }
      s.secrets.delete(prev.id);
      s.secretIdByName.delete(prev.name);
      return { result: undefined, changes: [{ kind: "secret", action: "delete", secret: prev }] };
    }
    case "secret.update": {
      const prev = mustGet(s.secrets, cmd.id, "secret");
      const secret: StoredSecret = {
        ...prev,
        version: prev.version + 1,
        labels: cmd.labels,
        encrypted: cmd.encrypted,
      };
      s.secrets.set(secret.id, secret);
      const changes: Change[] = [{ kind: "secret", action: "update", secret }];
      // Services using it get a new spec version: the rolling updater moves their tasks to the
      // new data (Swarm users have asked for this since 2016).
      for (const sv of [...s.services.values()]) {
        if (!sv.spec.secrets.some((r) => r.secret === prev.name)) continue;
        // Every task gets the new data: none runs the new version already.
        const rest = withoutVersionSets(sv);
        changes.push(
          ...putService(s, {
            ...rest,
            previousSpec: sv.spec,
            specVersion: sv.specVersion + 1,
            revision: serviceRevision(sv) + 1,
            updatedAt: cmd.at,
          }, sv).changes,
        );
      }
      return { result: secret, changes };
    }
    case "volume.create": {
      const v = cmd.volume;
      if (s.volumeIdByName.has(v.name)) throw new AlreadyExistsError("volume", v.name);
      if (s.volumes.has(v.id)) throw new AlreadyExistsError("volume", v.id);
      s.volumes.set(v.id, v);
      s.volumeIdByName.set(v.name, v.id);
      return { result: v, changes: [{ kind: "volume", action: "create", volume: v }] };
    }
    case "volume.delete": {
      const prev = mustGet(s.volumes, cmd.id, "volume");
      const users = [...s.services.values()].filter((sv) =>
        sv.spec.mounts.some((m) => m.type === "volume" && m.source === prev.name)
      );
      if (users.length > 0) {
        throw new FailedPreconditionError(
          `volume "${prev.name}" is in use by service ${names(users)}: remove the service first`,
        );
      }
      s.volumes.delete(prev.id);
      s.volumeIdByName.delete(prev.name);
      return { result: undefined, changes: [{ kind: "volume", action: "delete", volume: prev }] };
    }
    case "volume.bind": {
      const prev = mustGet(s.volumes, cmd.id, "volume");
      if (prev.nodeId === cmd.nodeId) return { result: prev, changes: [] };
      if (prev.nodeId !== undefined) {
        // Its data lives on that node: moving the binding would lose it.
        throw new FailedPreconditionError(
          `volume "${prev.name}" is bound to node ${prev.nodeId}, not ${cmd.nodeId}`,
        );
      }
      const v = { ...prev, nodeId: cmd.nodeId, updatedAt: cmd.at };
      s.volumes.set(v.id, v);
      return { result: v, changes: [{ kind: "volume", action: "update", volume: v }] };
    }
    case "cluster.featureLevel": {
      if (!s.cluster) {
        throw new FailedPreconditionError("the cluster is not initialized yet: no feature level");
      }
      const active = activeFeatureLevel(s);
      // Levels never go down: a raise that came late (a new leader raised first) changes nothing.
      if (cmd.level <= active) return { result: active, changes: [] };
      // The leader checked every manager; one may have registered an older binary since.
      const behind = managersBelow(s, cmd.level);
      if (behind.length > 0) {
        throw new FailedPreconditionError(
          `cannot raise the cluster's feature level to ${cmd.level}: ${
            behind.map((m) => `manager ${m.nodeId} is at level ${m.featureLevel ?? "unknown"}`)
              .join(", ")
          }`,
        );
      }
      s.cluster = { ...s.cluster, featureLevel: cmd.level };
      return { result: cmd.level, changes: [] };
    }
    default:
      // Only a newer binary writes a kind this one does not know (the log is never validated
      // again on replay: commands.ts).
      throw new UnknownCommandError((cmd as { kind: string }).kind, binaryLevel);
  }
}

/**
 * Gives a service in endpoint mode `vip` a virtual IP from the service CIDR (keeping the one it
 * has); a `dnsrr` service has none. Freed addresses are reused by later services.
 */
function withVip(s: ClusterState, sv: Service, prev: Service | undefined): Service {
  if (sv.spec.endpointMode !== "vip" || !s.cluster) {
    const { vip: _, ...rest } = sv;
    return rest;
  }
  if (prev?.vip) return { ...sv, vip: prev.vip };
  if (sv.vip) return sv;
  const { vip, scannedTo } = allocateVip(
    s.cluster.cidrs.serviceCidr,
    s.serviceIdByVip,
    sv.spec.name,
    s.vipScanFrom,
  );
  // Every address below the one found is taken, whether or not this command commits.
  s.vipScanFrom = scannedTo;
  return { ...sv, vip };
}

/**
 * Refuses a spec that claims a published port another service holds (FailedPrecondition: the
 * request is valid, the port becomes free when its holder lets it go).
 */
function checkPorts(
  s: ClusterState,
  spec: Service["spec"],
  selfId: string,
  prev: Service["spec"] | undefined,
): void {
  const holders = servicesPublishing(s, publishedPortKeys(spec));
  const refusal = publishedPortConflict(spec, holders, { selfId, prev });
  if (refusal) throw new FailedPreconditionError(`${refusal.field}: ${refusal.reason}`);
}

function putService(s: ClusterState, next: Service, prev: Service): Applied {
  putServiceIndexed(s, next, prev);
  return { result: next, changes: [{ kind: "service", action: "update", service: next }] };
}

function mustGet<T>(map: Map<string, T>, id: string, kind: string): T {
  const v = map.get(id);
  if (v === undefined) throw new NotFoundError(kind, id);
  return v;
}

function names(services: Service[]): string {
  return services.map((sv) => `"${sv.spec.name}"`).join(", ");
}

/** Whether two specs are the same (the FSM's objects keep one key order, so JSON compares). */
/**
 * The spec version, the older versions still counted as current (`sameSpecVersion`,
 * `olderSameSpecVersions`) and those running the spec replaced (`previousSpecVersions`) when
 * service `prev` gets spec `next`. Without `keepsUnchangedTasks` (log entries from before it),
 * every new spec is a new version that no task runs yet.
 *
 * With it: a spec that changes no task's definition keeps the version (and the older version
 * counted with it), so no task is replaced. Otherwise a new version, and when `next` makes the
 * tasks the previous spec made (an update back, a rollback), the tasks still on its versions
 * stay: the previous spec is the one of the version before whenever the two differ in their
 * task definition, as every write that changes the definition bumps the version and records
 * the spec it replaced. Not after a version that changed no definition (a secret's new data):
 * the older tasks may hold data the new spec cannot bring back.
 */
function nextVersions(
  prev: Service,
  next: Service["spec"],
  keepsUnchangedTasks: boolean,
): VersionSets {
  if (!keepsUnchangedTasks) return { specVersion: prev.specVersion + 1 };
  const current = currentVersions(prev);
  if (sameTaskDefinition(next, prev.spec)) {
    // previousSpec becomes prev.spec, whose tasks are the current ones: nothing to go back to.
    return aliases(prev.specVersion, current.slice(1));
  }
  const back = prev.previousSpec !== undefined && sameTaskDefinition(next, prev.previousSpec) &&
    !sameTaskDefinition(prev.previousSpec, prev.spec);
  // Every version whose tasks run the spec going back to, not only the one before: after a
  // rollback (v3 = v1's spec, its v1 tasks kept) and a failed update (v4), the rollback to v3's
  // spec keeps the v1 tasks too instead of replacing healthy tasks of the very same definition.
  const previous = prev.previousSpecVersions ?? [prev.specVersion - 1];
  return {
    ...aliases(prev.specVersion + 1, back ? previous : []),
    previousSpecVersions: current.slice(0, MAX_SAME_SPEC_VERSIONS + 1),
  };
}

/** The fields of a service that say which task versions run which of its specs. */
type VersionSets = Pick<
  Service,
  "specVersion" | "sameSpecVersion" | "olderSameSpecVersions" | "previousSpecVersions"
>;

/** `prev`'s versions whose tasks run its current spec, newest first. */
function currentVersions(prev: Service): number[] {
  return [
    prev.specVersion,
    ...(prev.sameSpecVersion !== undefined ? [prev.sameSpecVersion] : []),
    ...(prev.olderSameSpecVersions ?? []),
  ];
}

/** Version `specVersion` whose tasks also run at `same` (newest first, the oldest dropped). */
function aliases(specVersion: number, same: number[]): VersionSets {
  const [first, ...older] = same.filter((v) => v !== specVersion);
  return {
    specVersion,
    ...(first !== undefined ? { sameSpecVersion: first } : {}),
    ...(older.length > 0 ? { olderSameSpecVersions: older.slice(0, MAX_SAME_SPEC_VERSIONS) } : {}),
  };
}

/** `sv` without the version sets, which every write of its spec sets anew. */
function withoutVersionSets(sv: Service): Service {
  const {
    sameSpecVersion: _same,
    olderSameSpecVersions: _older,
    previousSpecVersions: _previous,
    ...rest
  } = sv;
  return rest;
}

/**
 * Whether an update or rollback of `sv` is still rolling out (or paused half way): its tasks
 * may run the previous spec, which stays the one to go back to.
 */
function rolloutUnderWay(sv: Service): boolean {
  const state = sv.updateStatus?.state;
  return state === "updating" || state === "paused" || state === "rollback_started";
}

function sameSpec(a: Service["spec"], b: Service["spec"]): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** Whether two sealed values are the same sealing (nonces are random: one per sealing). */
function sameSealed(a: EncryptedData | null, b: EncryptedData | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.keyId === b.keyId && a.nonce === b.nonce && a.ciphertext === b.ciphertext;
}
