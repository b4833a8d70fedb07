/**
 * @peculiar/x509, loaded on first use. With its ASN.1 schemas and dependency-injection container
 * it costs a node ~8 MiB of RSS for its whole life, so nothing a node runs routinely uses it:
 * certificates and requests are written by x509_der.ts and read with `node:crypto`'s
 * X509Certificate (net/grpc/pem.ts). Only the full inspections `parseCert` and
 * `verifyCert` of ca.ts still load it.
 * @module
 */
import type * as X509 from "@peculiar/x509";

let loading: Promise<typeof X509> | undefined;

/** The @peculiar/x509 module (imported once, with the `reflect-metadata` polyfill it needs). */
export function x509Lib(): Promise<typeof X509> {
  loading ??= (async () => {
    await import("reflect-metadata");
    return await import("@peculiar/x509");
  })();
  return loading;
}
