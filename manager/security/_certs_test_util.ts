/**
 * Tests' node certificates: a key pair and a certificate signed by a test root CA, as the TLS
 * material gRPC and Raft take (manager/security/ca.ts does the work).
 * @module
 */
import {
  createCsr,
  exportKeyPem,
  generateKeyPair,
  type NodeRole,
  type RootCa,
  signCsr,
} from "./ca.ts";

/** A certificate of `nodeId` in `role` from `ca`, for 127.0.0.1, valid an hour from `now`. */
export async function issueTestCert(
  ca: RootCa,
  nodeId: string,
  role: NodeRole,
  opts: { now?: number; lifetimeMs?: number; sans?: string[] } = {},
): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  const keyPair = await generateKeyPair();
  const certPem = await signCsr({
    ca,
    csrPem: await createCsr({ keyPair }),
    nodeId,
    role,
    lifetimeMs: opts.lifetimeMs ?? 3_600_000,
    sans: opts.sans ?? ["127.0.0.1"],
    now: opts.now ?? Date.now(),
  });
  return { caPem: ca.certPem, certPem, keyPem: await exportKeyPem(keyPair.privateKey) };
}
