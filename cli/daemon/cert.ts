/**
 * `warren cert create NAME --out-dir DIR`: another admin client's credentials. The key is made
 * here and never sent; the cluster CA signs its CSR through ClusterService.IssueCertificate
 * (admins and managers only). Lives with the daemon commands because it needs the key and CSR
 * tooling of manager/security.
 * @module
 */
import { join } from "node:path";
import { Command } from "commander";
import type { ServiceError } from "@grpc/grpc-js";
import { codecs } from "../../proto/convert.ts";
import { ClusterServiceClient } from "../../proto/gen/warren.ts";
import { DnsLabelSchema, parseOrThrow } from "../../proto/schema/mod.ts";
import { FailedPreconditionError } from "../../proto/errors.ts";
import { createCsr, exportKeyPem, generateKeyPair } from "../../manager/security/mod.ts";
import { channelCredentials, channelOptionsFor, MANAGER_SERVER_NAME } from "../../net/grpc/tls.ts";
import { fromGrpcError } from "../../net/grpc/status.ts";
import { resolveTarget } from "../config.ts";

/** The `cert` command group. */
export function certCommand(): Command {
  const cert = new Command("cert").description("client certificates");
  cert.addCommand(
    new Command("create")
      .description("issue an admin client certificate (key stays on this machine)")
      .argument("<name>", "client name (DNS label), the certificate's CN")
      .requiredOption("--out-dir <dir>", "where to write ca.pem, <name>.pem and <name>-key.pem")
      .option("--manager <host:port>", "manager API address")
      .option("--force", "replace a certificate and key of that name already in --out-dir")
      .action(async (name: string, o: { outDir: string; manager?: string; force?: boolean }) => {
        parseOrThrow(DnsLabelSchema, name, "name");
        // Overwriting would lose a working client's credentials (perhaps the only admin's).
        if (!o.force) {
          for (const f of [`${name}.pem`, `${name}-key.pem`]) {
            if (await exists(join(o.outDir, f))) {
              throw new FailedPreconditionError(
                `${
                  join(o.outDir, f)
                } exists: choose another name or --out-dir, or pass --force to replace it`,
              );
            }
          }
        }
        const target = await resolveTarget({ flag: o.manager !== undefined ? [o.manager] : [] });
        if (!target.tls) {
          throw new FailedPreconditionError("the CLI config has no admin certificate to sign with");
        }
        const [caPem, certPem, keyPem] = await Promise.all(
          [target.tls.caFile, target.tls.certFile, target.tls.keyFile].map((f) =>
            Deno.readTextFile(f)
          ),
        );
        const keyPair = await generateKeyPair();
        const csrPem = await createCsr({ keyPair, commonName: name });
        const client = new ClusterServiceClient(
          target.managers[0],
          channelCredentials({ caPem, certPem, keyPem }),
          channelOptionsFor(MANAGER_SERVER_NAME),
        );
        try {
          const wire = await new Promise<unknown>((resolve, reject) =>
            client.issueCertificate(
              codecs.IssueCertificateRequest.toWire({ csrPem, name }),
              (err: ServiceError | null, res: unknown) =>
                err ? reject(fromGrpcError(err)) : resolve(res),
            )
          );
          const r = codecs.CertificateResponse.fromWire(wire as never);
          await Deno.mkdir(o.outDir, { recursive: true, mode: 0o700 });
          await Deno.writeTextFile(join(o.outDir, "ca.pem"), r.caCertificatePem);
          await Deno.writeTextFile(join(o.outDir, `${name}.pem`), r.certificatePem, {
            mode: 0o600,
          });
          await Deno.writeTextFile(
            join(o.outDir, `${name}-key.pem`),
            await exportKeyPem(keyPair.privateKey),
            {
              mode: 0o600,
            },
          );
          console.log(`wrote ${join(o.outDir, `${name}.pem`)} and its key (0600)`);
        } finally {
          client.close();
        }
      }),
  );
  return cert;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
