/**
 * The `local` volume driver: a named volume is the directory `<dataDir>/volumes/<name>`, created
 * on first use and never removed with a task, so its data survives container restarts and task
 * replacement on the same node. Bind mounts pass through (their host path must exist); tmpfs
 * mounts are the runtime's (a new in-memory file system per container).
 * @module
 */
import { join } from "node:path";
import type { Mount } from "../proto/schema/mod.ts";
import { DnsLabelSchema } from "../proto/schema/mod.ts";
import { FailedPreconditionError, ValidationError } from "../proto/errors.ts";
import type { VolumeMount } from "../runtime/runtime.ts";

/** Volumes under one worker data directory. */
export class LocalVolumes {
  readonly #root: string;

  constructor(dataDir: string) {
    this.#root = join(dataDir, "volumes");
  }

  /** Host directory of volume `name` (not created). */
  path(name: string): string {
    if (!DnsLabelSchema.safeParse(name).success) {
      throw new ValidationError("mounts.source", `"${name}" is not a valid volume name`);
    }
    return join(this.#root, name);
  }

  /** Creates the volume's directory when it does not exist yet. @returns its host path */
  async ensure(name: string): Promise<string> {
    const dir = this.path(name);
    await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
    return dir;
  }

  /** Names of the volumes present on this node. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const e of Deno.readDir(this.#root)) if (e.isDirectory) out.push(e.name);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return out.sort();
  }

  /**
   * The runtime mounts of a task's spec mounts: volumes created on first use, bind sources
   * checked, tmpfs mounts passed on.
   */
  async resolve(mounts: readonly Mount[]): Promise<VolumeMount[]> {
    const out: VolumeMount[] = [];
    for (const [i, m] of mounts.entries()) {
      if (m.type === "volume") {
        out.push({
          source: await this.ensure(m.source!),
          destination: m.target,
          readonly: m.readOnly,
        });
      } else if (m.type === "bind") {
        try {
          await Deno.stat(m.source!);
        } catch {
          throw new FailedPreconditionError(
            `bind mount source ${m.source} (mounts[${i}]) does not exist on this node`,
          );
        }
        out.push({ source: m.source!, destination: m.target, readonly: m.readOnly });
      } else {
        out.push({ type: "tmpfs", destination: m.target, readonly: m.readOnly });
      }
    }
    return out;
  }
}
