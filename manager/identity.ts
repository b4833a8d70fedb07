/**
 * A manager's identity on disk: which node it is and which cluster it belongs to, written once
 * at init or join, next to the Raft data.
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { CidrSchema, IdSchema } from "../proto/schema/mod.ts";

/** The identity file's content. */
export const IdentitySchema = z.object({
  nodeId: IdSchema,
  clusterId: IdSchema,
  role: z.enum(["manager", "worker"]),
  /** Task subnet of the node and the cluster CIDR (for its network), once known. */
  subnet: CidrSchema.optional(),
  clusterCidr: CidrSchema.optional(),
});
/** A node's identity. */
export type Identity = z.infer<typeof IdentitySchema>;

/** Reads `<dataDir>/identity.json`; undefined when the node was never initialized. */
export async function readIdentity(dataDir: string): Promise<Identity | undefined> {
  try {
    return IdentitySchema.parse(
      JSON.parse(await Deno.readTextFile(join(dataDir, "identity.json"))),
    );
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`cannot read ${join(dataDir, "identity.json")}: ${(err as Error).message}`);
  }
}

/** Writes the identity (0600) after creating the data directory (0700). */
export async function writeIdentity(dataDir: string, id: Identity): Promise<void> {
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, "identity.json");
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(id, null, 2) + "\n", { mode: 0o600 });
  await Deno.rename(tmp, path);
}
