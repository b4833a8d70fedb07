/**
 * Mutual TLS over real loopback sockets: a grpc-js server hosting ClusterService (stub handlers,
 * test-only) with certificates minted by manager/security/ca.ts.
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import tls from "node:tls";
import * as w from "../../proto/gen/warren.ts";
import { ValidationError } from "../../proto/errors.ts";
import { toGrpcError } from "./status.ts";
import { type GrpcServer, startGrpcServer } from "./server.ts";
import {
  authorize,
  channelCredentials,
  channelOptionsFor,
  fetchPinnedCaPem,
  MANAGER_SERVER_NAME,
  peerIdentity,
  renewAt,
  serverCredentials,
  type ServerTlsOptions,
  TlsIdentity,
  type TlsMaterial,
} from "./tls.ts";
import { caDigest, createRootCa, parseCert } from "../../manager/security/ca.ts";
import { issueTestCert } from "../../manager/security/_certs_test_util.ts";

const HOUR = 3_600_000;

/** Counts handler invocations, so a rejected handshake is shown never to reach a handler. */
const hits = { getInfo: 0 };

/** ClusterService stub: GetInfo echoes the caller, GetJoinToken is manager/admin only. */
const clusterStub: w.ClusterServiceServer = {
  getInfo(call, cb) {
    hits.getInfo++;
    try {
      const peer = peerIdentity(call);
      cb(null, w.ClusterInfo.fromPartial({ id: peer.nodeId, name: peer.role }));
    } catch (err) {
      cb(toGrpcError(err));
    }
  },
  getJoinToken(call, cb) {
    try {
      authorize(call, ["manager", "admin"]);
      cb(null, w.JoinToken.fromPartial({ token: "WRN1-..." }));
    } catch (err) {
      cb(toGrpcError(err));
    }
  },
  join(_call, cb) {
    cb(null, w.JoinResponse.fromPartial({ nodeId: "joined" }));
  },
  leave(call, cb) {
    try {
      authorize(call, ["worker", "manager"], { nodeIdMustBe: call.request.nodeId });
      cb(null, {});
    } catch (err) {
      cb(toGrpcError(err));
    }
  },
  // Not exercised here: the real handlers are tested in tests/integration/security_test.ts.
  renewCertificate(_call, cb) {
    cb({ code: 12, details: "not part of this stub" });
  },
  issueCertificate(_call, cb) {
    cb({ code: 12, details: "not part of this stub" });
  },
  updateAutolock(_call, cb) {
    cb(null, w.UnlockKey.fromPartial({}));
  },
  getUnlockKey(_call, cb) {
    cb(null, w.UnlockKey.fromPartial({}));
  },
  unlock(_call, cb) {
    cb(null, {});
  },
};

async function serve(
  identity: TlsMaterial | TlsIdentity,
  opts?: ServerTlsOptions,
): Promise<GrpcServer & { address: string }> {
  const server = await startGrpcServer({
    address: "127.0.0.1:0",
    services: [{ definition: w.ClusterServiceService, implementation: clusterStub }],
    credentials: serverCredentials(identity, opts),
  });
  return Object.assign(server, { address: `127.0.0.1:${server.port}` });
}

type Client = InstanceType<typeof w.ClusterServiceClient> & Disposable;

function client(
  address: string,
  creds: grpc.ChannelCredentials,
  serverName = MANAGER_SERVER_NAME,
): Client {
  const c = new w.ClusterServiceClient(address, creds, channelOptionsFor(serverName));
  return Object.assign(c, { [Symbol.dispose]: () => c.close() });
}

function unary<Req, Res>(
  c: Client,
  method: "getInfo" | "getJoinToken" | "leave" | "join",
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    // deno-lint-ignore no-explicit-any
    (c[method] as any).call(c, req, { deadline: Date.now() + 5_000 }, (err: any, res: Res) => {
      if (err) reject(err);
      else resolve(res);
    });
  });
}

const getInfo = (c: Client) =>
  unary<w.GetClusterInfoRequest, w.ClusterInfo>(c, "getInfo", { stale: false });

function hasCode(code: grpc.status, message?: RegExp) {
  return (e: unknown) => {
    const err = e as grpc.ServiceError;
    assert.equal(err.code, code, `code ${err.code}: ${err.details}`);
    if (message) assert.match(err.details, message);
    return true;
  };
}

async function cluster() {
  const ca = await createRootCa({ clusterId: "c1", lifetimeMs: 24 * HOUR, now: Date.now() });
  return { ca, manager: await issueTestCert(ca, "mgr-1", "manager") };
}

Deno.test("tls: a valid client certificate works and the server sees its node ID and role", async () => {
  const { ca, manager } = await cluster();
  await using server = await serve(manager);
  const worker = await issueTestCert(ca, "wrk-1", "worker");
  using c = client(server.address, channelCredentials(worker));
  const info = await getInfo(c);
  assert.equal(info.id, "wrk-1");
  assert.equal(info.name, "worker");
  // The server's own node ID is also a valid server name.
  using byId = client(server.address, channelCredentials(worker), "mgr-1");
  assert.equal((await getInfo(byId)).id, "wrk-1");
});

Deno.test("tls: a connection's certificate is read once, each connection its own", async () => {
  const { ca, manager } = await cluster();
  await using server = await serve(manager);
  const proto = tls.TLSSocket.prototype;
  const original = proto.getPeerCertificate;
  let reads = 0;
  proto.getPeerCertificate = function (this: tls.TLSSocket, ...args: [boolean?]) {
    // Count the server's reads for calls (clients read the server's certificate too).
    if (new Error().stack?.includes("getAuthContext")) reads++;
    return original.apply(this, args as [true]);
  } as typeof original;
  try {
    using w1 = client(
      server.address,
      channelCredentials(await issueTestCert(ca, "wrk-1", "worker")),
    );
    using w2 = client(
      server.address,
      channelCredentials(await issueTestCert(ca, "wrk-2", "worker")),
    );
    for (let i = 0; i < 3; i++) {
      assert.equal((await getInfo(w1)).id, "wrk-1");
      assert.equal((await getInfo(w2)).id, "wrk-2");
    }
    assert.equal(reads, 2, `${reads} reads`);
  } finally {
    proto.getPeerCertificate = original;
  }
});

Deno.test("tls: no client certificate, another CA's or an expired one never reach a handler", async () => {
  const { ca, manager } = await cluster();
  await using server = await serve(manager);
  const before = hits.getInfo;

  using none = client(server.address, channelCredentials({ caPem: ca.certPem }));
  await assert.rejects(getInfo(none), hasCode(grpc.status.UNAVAILABLE));

  const other = await createRootCa({ clusterId: "c1", lifetimeMs: HOUR, now: Date.now() });
  const foreign = await issueTestCert(other, "wrk-1", "worker");
  using f = client(server.address, channelCredentials({ ...foreign, caPem: ca.certPem }));
  await assert.rejects(getInfo(f), hasCode(grpc.status.UNAVAILABLE));

  // Issued two hours ago for one hour: expired an hour ago.
  const expired = await issueTestCert(ca, "wrk-2", "worker", { now: Date.now() - 2 * HOUR });
  assert.ok((await parseCert(expired.certPem)).notAfter < Date.now());
  using x = client(server.address, channelCredentials(expired));
  await assert.rejects(getInfo(x), hasCode(grpc.status.UNAVAILABLE));

  assert.equal(hits.getInfo, before);
});

Deno.test("tls: the client refuses a server whose certificate is from another CA", async () => {
  const { ca } = await cluster();
  const other = await createRootCa({ clusterId: "c1", lifetimeMs: HOUR, now: Date.now() });
  await using impostor = await serve(await issueTestCert(other, "mgr-x", "manager"));
  using c = client(
    impostor.address,
    channelCredentials(await issueTestCert(ca, "wrk-1", "worker")),
  );
  await assert.rejects(getInfo(c), hasCode(grpc.status.UNAVAILABLE));
});

Deno.test("tls: authorize() turns a worker calling a manager-only method into PERMISSION_DENIED", async () => {
  const { ca, manager } = await cluster();
  await using server = await serve(manager);
  using wc = client(server.address, channelCredentials(await issueTestCert(ca, "wrk-1", "worker")));
  await assert.rejects(
    unary(wc, "getJoinToken", w.GetJoinTokenRequest.fromPartial({})),
    hasCode(
      grpc.status.PERMISSION_DENIED,
      /^role worker may not call ClusterService\/GetJoinToken$/,
    ),
  );
  using admin = client(
    server.address,
    channelCredentials(await issueTestCert(ca, "adm-1", "admin")),
  );
  assert.equal(
    (await unary<unknown, w.JoinToken>(
      admin,
      "getJoinToken",
      w.GetJoinTokenRequest.fromPartial({}),
    )).token,
    "WRN1-...",
  );
  // nodeIdMustBe: a worker may act for itself only.
  await unary(wc, "leave", { nodeId: "wrk-1", force: false });
  await assert.rejects(
    unary(wc, "leave", { nodeId: "wrk-2", force: false }),
    hasCode(
      grpc.status.PERMISSION_DENIED,
      /^node wrk-1 may not call ClusterService\/Leave for node wrk-2$/,
    ),
  );
});

Deno.test("tls: optional client certificates admit joiners but give them no identity", async () => {
  const { ca, manager } = await cluster();
  await using server = await serve(manager, { clientCert: "optional" });
  using joiner = client(server.address, channelCredentials({ caPem: ca.certPem }));
  assert.equal(
    (await unary<unknown, w.JoinResponse>(joiner, "join", w.JoinRequest.fromPartial({}))).nodeId,
    "joined",
  );
  await assert.rejects(
    getInfo(joiner),
    hasCode(
      grpc.status.UNAUTHENTICATED,
      /^ClusterService\/GetInfo requires a client certificate from this cluster's CA$/,
    ),
  );
  // A certificate the TLS layer could not verify yields no identity either.
  const other = await createRootCa({ clusterId: "c1", lifetimeMs: HOUR, now: Date.now() });
  const foreign = await issueTestCert(other, "mgr-evil", "manager");
  using f = client(server.address, channelCredentials({ ...foreign, caPem: ca.certPem }));
  await assert.rejects(getInfo(f), hasCode(grpc.status.UNAUTHENTICATED));
  const expired = await issueTestCert(ca, "wrk-2", "manager", { now: Date.now() - 2 * HOUR });
  using x = client(server.address, channelCredentials(expired));
  await assert.rejects(getInfo(x), hasCode(grpc.status.UNAUTHENTICATED));
  // A good one does.
  using good = client(
    server.address,
    channelCredentials(await issueTestCert(ca, "wrk-1", "worker")),
  );
  assert.equal((await getInfo(good)).id, "wrk-1");
});

Deno.test("tls: renewed client certificates are used for new connections without new credentials", async () => {
  const { ca, manager } = await cluster();
  await using server = await serve(manager);
  const identity = new TlsIdentity(await issueTestCert(ca, "node-1", "worker"));
  const creds = channelCredentials(identity);
  using first = client(server.address, creds);
  assert.equal((await getInfo(first)).name, "worker");
  // Promotion: a new certificate for the same node with the manager role.
  await identity.update(await issueTestCert(ca, "node-1", "manager"));
  using second = client(server.address, creds);
  assert.equal((await getInfo(second)).name, "manager");
  // The connection made before the update keeps the certificate it was made with.
  assert.equal((await getInfo(first)).name, "worker");
});

Deno.test("tls: a running server swaps to a new CA and certificate without restarting", async () => {
  const { ca, manager } = await cluster();
  const identity = new TlsIdentity(manager);
  await using server = await serve(identity);
  const worker = await issueTestCert(ca, "wrk-1", "worker");
  using before = client(server.address, channelCredentials(worker));
  assert.equal((await getInfo(before)).id, "wrk-1");

  const ca2 = await createRootCa({ clusterId: "c1", lifetimeMs: HOUR, now: Date.now() });
  await identity.update(await issueTestCert(ca2, "mgr-1", "manager"));
  using oldTrust = client(server.address, channelCredentials(worker));
  await assert.rejects(getInfo(oldTrust), hasCode(grpc.status.UNAVAILABLE));
  using newTrust = client(
    server.address,
    channelCredentials(await issueTestCert(ca2, "wrk-9", "worker")),
  );
  assert.equal((await getInfo(newTrust)).id, "wrk-9");
});

Deno.test("tls: an unusable update is refused and the server keeps its working certificate", async () => {
  const { ca, manager } = await cluster();
  const identity = new TlsIdentity(manager);
  await using server = await serve(identity);
  const other = await issueTestCert(ca, "mgr-1", "manager");
  const foreignCa = await createRootCa({ clusterId: "c1", lifetimeMs: HOUR, now: Date.now() });
  const bad: [TlsMaterial, RegExp][] = [
    [{ ...manager, keyPem: other.keyPem }, /^keyPem: is not the private key of certPem$/],
    [{ ...manager, caPem: foreignCa.certPem }, /^certPem: was not issued by the CA in caPem/],
    [{ ...manager, certPem: "junk" }, /^certPem: is not a PEM X.509 certificate$/],
    [{ ...manager, keyPem: "junk" }, /^keyPem: is not a PKCS#8 ECDSA P-256 private key$/],
  ];
  for (const [material, message] of bad) {
    await assert.rejects(
      identity.update(material),
      (e) => e instanceof ValidationError && message.test(e.message),
    );
  }
  assert.equal(identity.current.certPem, manager.certPem);
  using c = client(server.address, channelCredentials(await issueTestCert(ca, "wrk-1", "worker")));
  assert.equal((await getInfo(c)).id, "wrk-1");
});

Deno.test("tls: a joiner fetches the CA pinned by the token digest, then verifies with it", async () => {
  const { ca, manager } = await cluster();
  await using server = await serve(manager, { clientCert: "optional" });
  const pinned = await fetchPinnedCaPem({
    address: server.address,
    caDigest: await caDigest(ca.certPem),
  });
  assert.equal(await caDigest(pinned), await caDigest(ca.certPem));
  using joiner = client(server.address, channelCredentials({ caPem: pinned }));
  assert.equal(
    (await unary<unknown, w.JoinResponse>(joiner, "join", w.JoinRequest.fromPartial({}))).nodeId,
    "joined",
  );

  const other = await createRootCa({ clusterId: "c1", lifetimeMs: HOUR, now: Date.now() });
  await assert.rejects(
    fetchPinnedCaPem({ address: server.address, caDigest: await caDigest(other.certPem) }),
    (e) => e instanceof Error && /does not serve the CA named by the join token/.test(e.message),
  );
  // Nothing listening: unavailable, not a hang.
  await server.stop(0);
  await assert.rejects(
    fetchPinnedCaPem({ address: server.address, caDigest: "00".repeat(32), timeoutMs: 2_000 }),
    /cannot reach manager at 127\.0\.0\.1:\d+/,
  );
});

Deno.test("tls: renewAt picks a point between 50% and 80% of the lifetime", () => {
  assert.equal(renewAt(1_000, 2_000, () => 0), 1_500);
  assert.equal(renewAt(1_000, 2_000, () => 0.5), 1_650);
  assert.equal(renewAt(1_000, 2_000, () => 0.999999), 1_799);
  for (let i = 0; i < 1_000; i++) {
    const t = renewAt(0, 90 * 24 * HOUR);
    assert.ok(t >= 45 * 24 * HOUR && t < 72 * 24 * HOUR, String(t));
  }
  assert.equal(renewAt(5, 5, () => 0.7), 5);
});
