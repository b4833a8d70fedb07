/**
 * Renewal for nodes that cannot sign for themselves (workers): a new key and CSR, signed by a
 * manager through ClusterService.RenewCertificate over the current mutual-TLS identity.
 * @module
 */
import type { ServiceError } from "@grpc/grpc-js";
import { codecs } from "../../proto/convert.ts";
import { ClusterServiceClient } from "../../proto/gen/warren.ts";
import { createCsr, exportKeyPem, generateKeyPair } from "../../manager/security/mod.ts";
import {
  channelCredentials,
  channelOptionsFor,
  MANAGER_SERVER_NAME,
  type TlsIdentity,
  type TlsMaterial,
} from "../../net/grpc/tls.ts";
import { fromGrpcError } from "../../net/grpc/status.ts";
import { UnavailableError } from "../../proto/errors.ts";

/** Asks the managers (in order) for a renewed certificate. */
export async function renewThroughManagers(
  identity: TlsIdentity,
  managers: readonly string[],
): Promise<Required<TlsMaterial>> {
  const keyPair = await generateKeyPair();
  const csrPem = await createCsr({ keyPair });
  let lastErr: unknown;
  for (const addr of managers) {
    const client = new ClusterServiceClient(
      addr,
      channelCredentials(identity),
      channelOptionsFor(MANAGER_SERVER_NAME),
    );
    try {
      const wire = await new Promise<unknown>((resolve, reject) =>
        client.renewCertificate(
          codecs.RenewCertificateRequest.toWire({ csrPem }),
          (err: ServiceError | null, res: unknown) =>
            err ? reject(fromGrpcError(err)) : resolve(res),
        )
      );
      const r = codecs.CertificateResponse.fromWire(wire as never);
      return {
        caPem: r.caCertificatePem,
        certPem: r.certificatePem,
        keyPem: await exportKeyPem(keyPair.privateKey),
      };
    } catch (err) {
      lastErr = err;
    } finally {
      client.close();
    }
  }
  throw new UnavailableError(`no manager renewed the certificate (tried ${managers.join(", ")})`, {
    cause: lastErr,
  });
}
