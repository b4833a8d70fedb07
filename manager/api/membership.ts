/**
 * Joining and leaving: join tokens (stored hashed, readable again by admins because a sealed copy
 * is kept), the Join call that checks a token and issues the node's certificate, manager
 * membership in Raft, certificate renewal and admin certificates.
 * @module
 */
import type {
  JoinRequest,
  JoinResponse,
  JoinToken,
  ManagerPeer,
  NodeRole,
} from "../../proto/schema/mod.ts";
import { encodeBase64 } from "../../proto/schema/mod.ts";
import {
  FailedPreconditionError,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
} from "../../proto/errors.ts";
import { generateToken, hashTokenSecret, parseToken, verifyToken } from "../security/mod.ts";
import { type ApiContext, readBarrier, write } from "./context.ts";
import { clusterInfo } from "./cluster.ts";
import { findNode } from "./nodes.ts";
import {
  activeFeatureLevel,
  BASE_FEATURE_LEVEL,
  belowLevelMessage,
} from "../state/fsm_feature_level.ts";

/** Creates (or rotates) the join token of `role`; returns it. */
export async function rotateJoinToken(
  ctx: ApiContext,
  role: "manager" | "worker",
): Promise<string> {
  const keys = await ctx.keys();
  const token = generateToken({ caDigest: keys.caDigest, role });
  const at = ctx.now();
  await write(ctx, {
    kind: "token.set",
    at,
    token: {
      role,
      secretHash: await hashTokenSecret(parseToken(token).secret),
      createdAt: at,
      encrypted: await keys.sealToken(token, role),
    },
  });
  return token;
}

/** The join token of `role` (rotated first when asked). */
export async function getJoinToken(
  ctx: ApiContext,
  role: NodeRole,
  rotate: boolean,
): Promise<JoinToken> {
  if (role !== "manager" && role !== "worker") {
    throw new ValidationError("role", "must be manager or worker");
  }
  const s = await readBarrier(ctx, false);
  const stored = s.tokens[role];
  if (rotate || !stored?.encrypted) return { role, token: await rotateJoinToken(ctx, role) };
  return { role, token: await (await ctx.keys()).openToken(stored.encrypted, role) };
}

/** Current managers as peers see them. */
export function managerPeers(ctx: ApiContext): ManagerPeer[] {
  const out: ManagerPeer[] = [];
  for (const n of ctx.store.state.nodes.values()) {
    if (n.role === "manager" && n.addresses.api && n.addresses.raft) {
      out.push({ nodeId: n.id, apiAddress: n.addresses.api, raftAddress: n.addresses.raft });
    }
  }
  return out;
}

/**
 * A new node joins: its token is checked (role, rotation, expiry, CA), it gets an ID and a
 * certificate, and is recorded; a manager also becomes a Raft learner (promoted once caught up).
 */
export async function joinCluster(ctx: ApiContext, req: JoinRequest): Promise<JoinResponse> {
  const keys = await ctx.keys();
  const parsed = parseToken(req.token);
  const s = await readBarrier(ctx, false);
  const stored = s.tokens[parsed.role];
  if (!stored) throw new UnauthenticatedError("join token was rotated or is invalid");
  await verifyToken(req.token, stored, { now: ctx.now(), caDigest: keys.caDigest });
  if (parsed.role === "manager" && !(req.addresses.raft && req.addresses.api)) {
    throw new ValidationError("addresses.raft", "a manager must give its API and Raft addresses");
  }
  // A manager applies the log: one whose binary is below the cluster's level would misread it.
  const joinerLevel = req.featureLevel ?? BASE_FEATURE_LEVEL;
  if (parsed.role === "manager" && joinerLevel < activeFeatureLevel(s)) {
    throw new FailedPreconditionError(
      belowLevelMessage(joinerLevel, activeFeatureLevel(s), {
        binary: `the Warren binary of joining manager "${req.hostname}"`,
      }),
    );
  }
  const nodeId = ctx.newId();
  const at = ctx.now();
  const certificatePem = await keys.signNode({
    csrPem: req.csrPem,
    nodeId,
    role: parsed.role,
    // Another node's ID as a name would let this certificate pass for that node.
    sans: [req.addresses.advertise, req.hostname].filter((n) => !s.nodes.has(n)),
    now: at,
  });
  await write(ctx, {
    kind: "node.register",
    at,
    node: {
      id: nodeId,
      hostname: req.hostname,
      role: parsed.role,
      addresses: req.addresses,
      labels: req.labels,
      resources: req.resources,
      platform: req.platform,
      availability: "active",
      status: {
        state: "unknown",
        message: "joined; waiting for its first session",
        lastHeartbeatAt: at,
      },
      version: req.version,
      ...(req.featureLevel !== undefined ? { featureLevel: req.featureLevel } : {}),
      createdAt: at,
      updatedAt: at,
    },
  });
  if (parsed.role === "manager") await ctx.raft.addLearner(nodeId, req.addresses.raft!);
  const subnet = ctx.store.state.nodeSubnets.get(nodeId);
  if (!subnet) throw new UnavailableError(`node ${nodeId} was recorded without a subnet`);
  // Under autolock, the new manager locks its copy of the cluster key before it touches disk.
  const sealedUnlockKey = s.cluster?.security?.unlockKey;
  const unlockKey = parsed.role === "manager" && sealedUnlockKey
    ? await keys.openUnlockKey(sealedUnlockKey)
    : undefined;
  return {
    nodeId,
    role: parsed.role,
    certificatePem,
    caCertificatePem: keys.ca.certPem,
    cluster: await clusterInfo(ctx, true),
    managers: managerPeers(ctx),
    subnet,
    ...(parsed.role === "manager" ? { clusterKey: encodeBase64(keys.kekRaw) } : {}),
    ...(unlockKey !== undefined ? { unlockKey } : {}),
  };
}

/** Removes a node; a manager first leaves Raft (refused if that would lose the quorum). */
export async function leaveCluster(
  ctx: ApiContext,
  nodeIdOrName: string,
  force: boolean,
): Promise<void> {
  const s = await readBarrier(ctx, false);
  const n = findNode(s, nodeIdOrName);
  if (n.role === "manager") {
    const voters = ctx.raft.status().config.voters;
    const last = voters.length === 1 && voters[0] === n.id;
    if (last && !force) {
      throw new FailedPreconditionError(
        // `cluster leave` then forgets the membership (cli/daemon/membership.ts): the Raft log
        // and cluster key go with it, so nothing of the cluster is left to restart from.
        `manager ${n.hostname} is the cluster's only manager: leaving ends the cluster and ` +
          "erases its state (services, secrets, Raft log, cluster key); use --force",
      );
    }
    // The last voter cannot be removed from Raft, nor the node from a state no manager keeps:
    // the cluster ends with it, as `docker swarm leave --force` on the last manager.
    if (last) return;
    if (voters.includes(n.id) && voters.length === 2 && !force) {
      throw new FailedPreconditionError(
        `removing manager ${n.hostname} would leave 1 manager: a cluster of two loses its ` +
          "quorum with one; use --force",
      );
    }
    if (ctx.raft.members[n.id] !== undefined) await ctx.raft.removeMember(n.id);
  }
  await write(ctx, { kind: "node.remove", at: ctx.now(), id: n.id, force: true });
}

/** Signs a new certificate for the caller's own identity (renewal). */
export async function renewCertificate(
  ctx: ApiContext,
  caller: { nodeId: string; role: NodeRole | "admin" },
  csrPem: string,
): Promise<{ certificatePem: string; caCertificatePem: string }> {
  const keys = await ctx.keys();
  const node = ctx.store.state.nodes.get(caller.nodeId);
  if (caller.role !== "admin" && !node) {
    throw new UnauthenticatedError(`node ${caller.nodeId} is no longer a member of this cluster`);
  }
  const sans = node
    ? [node.addresses.advertise, node.hostname].filter((n) =>
      n === caller.nodeId || !ctx.store.state.nodes.has(n)
    )
    : [];
  const certificatePem = await keys.signNode({
    csrPem,
    nodeId: caller.nodeId,
    role: caller.role,
    sans,
    now: ctx.now(),
  });
  return { certificatePem, caCertificatePem: keys.ca.certPem };
}

/** Issues a certificate for another admin client named `name`. */
export async function issueAdminCertificate(
  ctx: ApiContext,
  name: string,
  csrPem: string,
): Promise<{ certificatePem: string; caCertificatePem: string }> {
  const keys = await ctx.keys();
  const certificatePem = await keys.signNode({
    csrPem,
    nodeId: name,
    role: "admin",
    sans: [],
    now: ctx.now(),
  });
  return { certificatePem, caCertificatePem: keys.ca.certPem };
}
