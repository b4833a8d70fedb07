/**
 * After `cluster init` (or `cert`), the CLI's credentials: an admin certificate and key under
 * ~/.warren (0600) and the config file that points the CLI at the cluster.
 * @module
 */
import { dirname, join } from "node:path";
import { defaultConfigPath, readCliConfig, writeCliConfig } from "../config.ts";
import { MANAGER_SERVER_NAME } from "../../net/grpc/tls.ts";

/** Writes the admin credentials next to the CLI config and records the managers. */
export async function writeAdminConfig(o: {
  clusterId: string;
  managers: string[];
  caPem: string;
  certPem: string;
  keyPem: string;
  configPath?: string;
}): Promise<string> {
  const path = o.configPath ?? defaultConfigPath();
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const files = {
    caFile: join(dir, "ca.pem"),
    certFile: join(dir, "admin.pem"),
    keyFile: join(dir, "admin-key.pem"),
  };
  await Deno.writeTextFile(files.caFile, o.caPem, { mode: 0o644 });
  await Deno.writeTextFile(files.keyFile, o.keyPem, { mode: 0o600 });
  await Deno.chmod(files.keyFile, 0o600);
  await Deno.writeTextFile(files.certFile, o.certPem, { mode: 0o600 });
  const prev = await readCliConfig(path).catch(() => undefined);
  const managers = prev?.clusterId === o.clusterId
    ? [...new Set([...o.managers, ...prev.managers])]
    : o.managers;
  await writeCliConfig(path, {
    managers,
    clusterId: o.clusterId,
    tls: { ...files, serverName: MANAGER_SERVER_NAME },
  });
  return path;
}
