/**
 * The joining node's side of `warren join`: read the join token, fetch the manager's CA and
 * check it against the token's digest (no blind trust on first use), create a key and CSR, and
 * call ClusterService.Join over TLS pinned to that CA. The key never leaves this machine.
 * @module
 */
import type { ServiceError } from "@grpc/grpc-js";
import { codecs } from "../../proto/convert.ts";
import { ClusterServiceClient } from "../../proto/gen/warren.ts";
import type { JoinRequest, JoinResponse } from "../../proto/schema/mod.ts";
import {
  createCsr,
  exportKeyPem,
  generateKeyPair,
  parseToken,
} from "../../manager/security/mod.ts";
import {
  channelCredentials,
  channelOptionsFor,
  fetchPinnedCaPem,
  MANAGER_SERVER_NAME,
} from "../../net/grpc/tls.ts";
import { fromGrpcError } from "../../net/grpc/status.ts";

/** What the joining node tells the cluster about itself (token and CSR are added here). */
export type JoinDetails = Omit<JoinRequest, "token" | "csrPem">;

/** Joins through `managerAddr`; returns the answer and the private key it certifies. */
export async function joinViaManager(
  managerAddr: string,
  token: string,
  details: JoinDetails,
): Promise<{ response: JoinResponse; keyPem: string }> {
  const parsed = parseToken(token);
  const caPem = await fetchPinnedCaPem({ address: managerAddr, caDigest: parsed.caDigest });
  const keyPair = await generateKeyPair();
  const csrPem = await createCsr({ keyPair, commonName: details.hostname });
  const client = new ClusterServiceClient(
    managerAddr,
    channelCredentials({ caPem }),
    channelOptionsFor(MANAGER_SERVER_NAME),
  );
  try {
    const wire = await new Promise<unknown>((resolve, reject) =>
      client.join(
        codecs.JoinRequest.toWire({ ...details, token, csrPem }),
        (err: ServiceError | null, res: unknown) => err ? reject(fromGrpcError(err)) : resolve(res),
      )
    );
    const response = codecs.JoinResponse.fromWire(wire as never);
    return { response, keyPem: await exportKeyPem(keyPair.privateKey) };
  } finally {
    client.close();
  }
}
