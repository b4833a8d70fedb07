/**
 * The whole join, over real loopback sockets, the way the daemons will wire it (Swarm's flow):
 *
 *   joiner                                   manager (clientCert: "optional")
 *   parseToken ── fetchPinnedCaPem ───────▶  serves cert chain (node cert + CA)
 *   checkCaDigest(token, CA)  (nothing secret sent until the CA matches the token)
 *   createCsr ── Join(token, CSR) ────────▶  verifyToken, signCsr(nodeId, role from token)
 *   verifyCert(cert, CA, now) ◀────────────  certificate + CA
 *   TlsIdentity ── GetInfo over mTLS ─────▶  authorize(call, roles) sees the new node ID
 *
 * The Join and GetInfo handlers here are test stubs; the real ones belong to manager/api.
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import * as w from "../../proto/gen/warren.ts";
import { toGrpcError } from "../../net/grpc/status.ts";
import { startGrpcServer } from "../../net/grpc/server.ts";
import {
  authorize,
  channelCredentials,
  channelOptionsFor,
  fetchPinnedCaPem,
  MANAGER_SERVER_NAME,
  renewAt,
  serverCredentials,
  TlsIdentity,
} from "../../net/grpc/tls.ts";
import {
  caDigest,
  createCsr,
  createRootCa,
  exportKeyPem,
  generateKeyPair,
  signCsr,
  verifyCert,
} from "./ca.ts";
import {
  checkCaDigest,
  generateToken,
  hashTokenSecret,
  parseToken,
  type StoredToken,
  verifyToken,
} from "./token.ts";

const HOUR = 3_600_000;

function call<Res>(
  fn: (cb: (err: grpc.ServiceError | null, res: Res) => void) => void,
): Promise<Res> {
  return new Promise((resolve, reject) => fn((err, res) => err ? reject(err) : resolve(res)));
}

Deno.test("join flow: token-pinned CA, CSR signed by the manager, then mutual TLS", async () => {
  const now = Date.now();
  const ca = await createRootCa({ clusterId: "c1", lifetimeMs: 24 * HOUR, now });
  const digest = await caDigest(ca.certPem);
  const managerKeys = await generateKeyPair();
  const managerCert = await signCsr({
    ca,
    csrPem: await createCsr({ keyPair: managerKeys }),
    nodeId: "mgr-1",
    role: "manager",
    lifetimeMs: HOUR,
    sans: ["127.0.0.1"],
    now,
  });
  const workerToken = generateToken({ caDigest: digest, role: "worker" });
  const stored: StoredToken = {
    role: "worker",
    secretHash: await hashTokenSecret(parseToken(workerToken).secret),
  };
  let joined = 0;

  await using server = await startGrpcServer({
    address: "127.0.0.1:0",
    credentials: serverCredentials(
      {
        caPem: ca.certPem,
        certPem: managerCert,
        keyPem: await exportKeyPem(managerKeys.privateKey),
      },
      { clientCert: "optional" },
    ),
    services: [{
      definition: w.ClusterServiceService,
      implementation: {
        join: async (
          c: grpc.ServerUnaryCall<w.JoinRequest, w.JoinResponse>,
          cb: grpc.sendUnaryData<w.JoinResponse>,
        ) => {
          try {
            const t = await verifyToken(c.request.token, stored, {
              now: Date.now(),
              caDigest: digest,
            });
            const nodeId = `node-${joined + 1}`;
            const certificatePem = await signCsr({
              ca,
              csrPem: c.request.csrPem,
              nodeId,
              role: t.role,
              lifetimeMs: HOUR,
              sans: [c.request.hostname],
              now: Date.now(),
            });
            joined++;
            cb(
              null,
              w.JoinResponse.fromPartial({ nodeId, certificatePem, caCertificatePem: ca.certPem }),
            );
          } catch (err) {
            cb(toGrpcError(err));
          }
        },
        getInfo: (
          c: grpc.ServerUnaryCall<w.GetClusterInfoRequest, w.ClusterInfo>,
          cb: grpc.sendUnaryData<w.ClusterInfo>,
        ) => {
          try {
            const peer = authorize(c, ["worker", "manager"]);
            cb(null, w.ClusterInfo.fromPartial({ id: "c1", name: peer.nodeId }));
          } catch (err) {
            cb(toGrpcError(err));
          }
        },
      },
    }],
  });
  const address = `127.0.0.1:${server.port}`;
  const opts = channelOptionsFor(MANAGER_SERVER_NAME);

  // 1. The joiner learns the CA from the manager, pinned by the token.
  const caPem = await fetchPinnedCaPem({ address, caDigest: parseToken(workerToken).caDigest });
  await checkCaDigest(workerToken, caPem);

  // 2. Join with a CSR over server-verified TLS (no client certificate yet).
  const joinClient = new w.ClusterServiceClient(address, channelCredentials({ caPem }), opts);
  try {
    const join = (token: string, csrPem: string) =>
      call<w.JoinResponse>((cb) =>
        joinClient.join(w.JoinRequest.fromPartial({ token, hostname: "host-a", csrPem }), cb)
      );
    const keyPair = await generateKeyPair();
    const csrPem = await createCsr({ keyPair });
    // A forged secret, a malformed token and a bad CSR are refused with typed statuses.
    const forged = workerToken.replace(/-[a-z2-7]+$/, `-${"a".repeat(32)}`);
    await assert.rejects(join(forged, csrPem), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.UNAUTHENTICATED);
      assert.equal(e.details, "join token was rotated or is invalid");
      return true;
    });
    await assert.rejects(
      join("hello", csrPem),
      (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT,
    );
    await assert.rejects(
      join(workerToken, "not a csr"),
      (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT,
    );
    // Without a certificate the joiner has no identity.
    await assert.rejects(
      call((cb) => joinClient.getInfo(w.GetClusterInfoRequest.fromPartial({}), cb)),
      (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED,
    );

    const res = await join(workerToken, csrPem);
    assert.equal(res.nodeId, "node-1");

    // 3. The joiner checks what it got before using it.
    const info = await verifyCert(res.certificatePem, caPem, Date.now());
    assert.equal(info.nodeId, "node-1");
    assert.equal(info.role, "worker");
    assert.ok(info.sans.includes("host-a"));
    const renewal = renewAt(info.notBefore, info.notAfter);
    const lifetime = info.notAfter - info.notBefore;
    assert.ok(
      renewal >= info.notBefore + lifetime / 2 && renewal <= info.notBefore + lifetime * 0.8,
    );

    // 4. Mutual TLS with the new identity.
    const identity = new TlsIdentity({
      caPem,
      certPem: res.certificatePem,
      keyPem: await exportKeyPem(keyPair.privateKey),
    });
    const client = new w.ClusterServiceClient(address, channelCredentials(identity), opts);
    try {
      const got = await call<w.ClusterInfo>((cb) =>
        client.getInfo(w.GetClusterInfoRequest.fromPartial({}), cb)
      );
      assert.equal(got.name, "node-1");
    } finally {
      client.close();
    }
  } finally {
    joinClient.close();
  }
});
