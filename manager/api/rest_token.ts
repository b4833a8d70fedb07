/**
 * The token local tools present to the REST API (`Authorization: Bearer <token>`). Loopback
 * alone proves nothing about who is calling: any user of the machine can reach 127.0.0.1, and
 * the API can create a service that bind-mounts the host's root. The token lives in the
 * manager's data directory, readable by its owner only (0600): whoever can read it could read
 * the cluster's keys there anyway. Docker's equivalent is its root-only socket.
 * @module
 */
import { join } from "node:path";

/** File name of the token in the manager's data directory. */
export const REST_TOKEN_FILE = "rest.token";

/** Reads the manager's REST token, creating it (random, mode 0600) on first use. */
export async function loadOrCreateRestToken(dataDir: string): Promise<string> {
  const path = join(dataDir, REST_TOKEN_FILE);
  try {
    const token = (await Deno.readTextFile(path)).trim();
    // Tighten a file an operator copied around with looser permissions.
    await Deno.chmod(path, 0o600);
    if (token.length >= 32) return token;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const token = Array.from(crypto.getRandomValues(new Uint8Array(32)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  await Deno.writeTextFile(path, `${token}\n`, { mode: 0o600 });
  await Deno.chmod(path, 0o600); // mode applies only to a file created here
  return token;
}
