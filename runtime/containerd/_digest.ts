/** Digest helpers shared by pull, content and unpack (private to runtime/containerd). */
import { createHash, type Hash } from "node:crypto";

/** Hex SHA-256 of `data`. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const hash = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Incremental SHA-256 for streamed blobs (WebCrypto has no incremental API). */
export function sha256Stream(): { update(chunk: Uint8Array): void; digest(): string } {
  const h: Hash = createHash("sha256");
  return {
    update: (chunk) => h.update(chunk),
    digest: () => `sha256:${h.digest("hex")}`,
  };
}

/**
 * OCI layer chain IDs: ChainID(L0) = DiffID(L0); ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " +
 * DiffID(Ln)). Snapshots of unpacked layers are named by them, so identical stacks are shared.
 */
export async function chainIds(diffIds: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const diffId of diffIds) {
    const prev = out.at(-1);
    out.push(prev === undefined ? diffId : `sha256:${await sha256Hex(`${prev} ${diffId}`)}`);
  }
  return out;
}
