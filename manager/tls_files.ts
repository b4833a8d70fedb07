/**
 * A node's TLS material on disk under `<dataDir>/tls/`: the cluster CA, the node certificate and
 * its private key (0600), written atomically so a renewal never leaves a half-written pair.
 * @module
 */
import { join } from "node:path";
import type { TlsMaterial } from "../net/grpc/tls.ts";
import { FailedPreconditionError } from "../proto/errors.ts";

const FILES = { ca: "ca.pem", cert: "node.pem", key: "node-key.pem" } as const;

/** Writes the CA, certificate and key. */
export async function writeTlsFiles(dataDir: string, m: Required<TlsMaterial>): Promise<void> {
  const dir = join(dataDir, "tls");
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const put = async (name: string, text: string, mode: number) => {
    const tmp = join(dir, `${name}.tmp`);
    await Deno.writeTextFile(tmp, text, { mode });
    await Deno.rename(tmp, join(dir, name));
  };
  await put(FILES.ca, m.caPem, 0o644);
  await put(FILES.key, m.keyPem, 0o600);
  await put(FILES.cert, m.certPem, 0o644);
}

/** Reads the CA, certificate and key; a clear error when they are missing. */
export async function readTlsFiles(dataDir: string): Promise<Required<TlsMaterial>> {
  const dir = join(dataDir, "tls");
  try {
    return {
      caPem: await Deno.readTextFile(join(dir, FILES.ca)),
      certPem: await Deno.readTextFile(join(dir, FILES.cert)),
      keyPem: await Deno.readTextFile(join(dir, FILES.key)),
    };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new FailedPreconditionError(
        `${dir} lacks this node's certificate: was it initialized or joined?`,
      );
    }
    throw err;
  }
}
