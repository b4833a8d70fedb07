/**
 * A task's /etc/hostname and /etc/hosts, as Docker gives every container: written per task under
 * `<dataDir>/tasks/<taskId>/` and bind-mounted read-only, so `hostname -f`, and programs that
 * look their own name up (Java, Erlang, sudo), find it, and `localhost` resolves in images that
 * ship no /etc/hosts. Removed with the task. A task on the host network keeps the image's files,
 * as its name and addresses are the host's.
 * @module
 */
import { join } from "node:path";
import type { BindVolumeMount, NetworkMode } from "../runtime/runtime.ts";

/** Docker's /etc/hosts: loopback names, then the container's address under its host name. */
export function hostsFile(hostname: string, ip?: string): string {
  const lines = [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "ff00::0\tip6-mcastprefix",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
  ];
  if (ip) lines.push(`${ip}\t${hostname}`);
  return `${lines.join("\n")}\n`;
}

/** The per-task /etc files under one worker data directory. */
export class TaskEtcFiles {
  readonly #root: string;

  constructor(dataDir: string) {
    this.#root = join(dataDir, "tasks");
  }

  /** Directory of task `taskId`'s files. */
  dir(taskId: string): string {
    return join(this.#root, taskId);
  }

  /**
   * Writes the task's files and returns their read-only mounts; none on the host network.
   * Rewritten on every call, so a container created again gets its current address.
   */
  async write(
    taskId: string,
    input: { hostname: string; ip?: string; network: NetworkMode },
  ): Promise<BindVolumeMount[]> {
    if (input.network.mode === "host") return [];
    const dir = this.dir(taskId);
    await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
    const hostname = join(dir, "hostname");
    const hosts = join(dir, "hosts");
    // World-readable: the container's processes may run as any user.
    await Deno.writeTextFile(hostname, `${input.hostname}\n`, { mode: 0o644 });
    await Deno.writeTextFile(hosts, hostsFile(input.hostname, input.ip), { mode: 0o644 });
    return [
      { source: hostname, destination: "/etc/hostname", readonly: true },
      { source: hosts, destination: "/etc/hosts", readonly: true },
    ];
  }

  /** Removes the files of every task not in `keep` (left behind by a crash). */
  async prune(keep: ReadonlySet<string>): Promise<void> {
    const ids: string[] = [];
    try {
      for await (const e of Deno.readDir(this.#root)) if (!keep.has(e.name)) ids.push(e.name);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    for (const id of ids) await this.remove(id);
  }

  /** Removes the task's files. Idempotent. */
  async remove(taskId: string): Promise<void> {
    await Deno.remove(this.dir(taskId), { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }
}
