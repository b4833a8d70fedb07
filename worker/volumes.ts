/**
 * The `local` volume driver: a named volume is the directory `<dataDir>/volumes/<name>.<id>`
 * (the volume's name, a dot, its ID), created on first use and never removed with a task, so its
 * data survives container restarts and task replacement on the same node. Bind mounts pass
 * through (their host path must exist); tmpfs mounts are the runtime's (a new in-memory file
 * system per container).
 *
 * Removal: the managers send the volumes whose data may be on this node (`volumesAuthoritative`
 * assignments messages). Once a complete such message has been applied, a directory whose volume
 * is not in that set (deleted from the cluster) is deleted as soon as no task of this node may
 * mount it. The ID in the directory name is what keeps a volume created later under the same name
 * from getting the old data back, even when this node was offline when the old one was removed.
 * A partial view (no complete message yet in this process, or from a manager that does not send
 * the whole set) deletes nothing.
 *
 * Older workers named the directory `<name>` alone. Such a directory is kept for the volume of
 * that name that exists now (renamed to `<name>.<id>` once no task mounts it) and deleted like the
 * others when no volume of that name is left. Its owner cannot be proven, so a volume removed
 * and recreated under the same name while this node ran an older worker and was offline gets the
 * old data: the one case this cannot tell apart, settled towards keeping data.
 * @module
 */
import { join } from "node:path";
import type { AssignmentsMessage, Mount, Volume } from "../proto/schema/mod.ts";
import { DnsLabelSchema, IdSchema } from "../proto/schema/mod.ts";
import { FailedPreconditionError, ValidationError } from "../proto/errors.ts";
import { type Logger, logger } from "../proto/log.ts";
import type { VolumeMount } from "../runtime/runtime.ts";

/** Prefix of a deleted volume's directory while it is being removed (never a volume's name). */
const DELETING_PREFIX = ".deleting-";

/** A directory under the volumes root: `<name>.<id>`, or `<name>` from an older worker. */
interface Entry {
  entry: string;
  name: string;
  id?: string;
}

/** What a task of this node may mount: the names, and the directories it resolved them to. */
interface Holder {
  names: Set<string>;
  /** Directories (entries) it got from {@link LocalVolumes.resolve}; none yet: any of its names. */
  dirs?: Set<string>;
}

/** Parses a directory name of the volumes root; `undefined` for anything that is not a volume. */
function parseEntry(entry: string): Entry | undefined {
  const dot = entry.indexOf(".");
  // Names are DNS labels (no dots); IDs may have dots, so the first dot separates them.
  const name = dot < 0 ? entry : entry.slice(0, dot);
  if (!DnsLabelSchema.safeParse(name).success) return undefined;
  if (dot < 0) return { entry, name };
  const id = entry.slice(dot + 1);
  return IdSchema.safeParse(id).success ? { entry, name, id } : undefined;
}

/** Volumes under one worker data directory. */
export class LocalVolumes {
  readonly #root: string;
  readonly #log: Logger;
  /** The volumes the managers say may be on this node, by ID. */
  readonly #known = new Map<string, Volume>();
  /** Whether {@link #known} is the whole set (a complete authoritative message was applied). */
  #authoritative = false;
  readonly #holders = new Map<string, Holder>();
  /** Resolving and pruning run one at a time: neither sees the other's half-done work. */
  #lock: Promise<unknown> = Promise.resolve();
  #pruneQueued = false;
  /** A prune skipped a directory in use: try again when a task lets go of one. */
  #pruneDue = false;
  readonly #deleting = new Set<Promise<void>>();
  /** Root entries being deleted (not to be started again by the crash clean-up). */
  readonly #deletingPaths = new Set<string>();

  constructor(dataDir: string, log: Logger = logger("volumes")) {
    this.#root = join(dataDir, "volumes");
    this.#log = log;
  }

  /** Host directory of volume `name` with ID `id` (legacy layout without); not created. */
  path(name: string, id?: string): string {
    if (!DnsLabelSchema.safeParse(name).success) {
      throw new ValidationError("mounts.source", `"${name}" is not a valid volume name`);
    }
    if (id !== undefined && !IdSchema.safeParse(id).success) {
      throw new ValidationError("volume.id", `"${id}" is not a valid volume ID`);
    }
    return join(this.#root, id === undefined ? name : `${name}.${id}`);
  }

  /** Names of the volumes present on this node. */
  async list(): Promise<string[]> {
    return [...new Set((await this.#entries()).map((e) => e.name))].sort();
  }

  /**
   * Takes in the volumes of an assignments message (before its tasks). A complete message
   * replaces the set; deltas upsert and remove. Deleted volumes' directories are pruned once
   * the set is known to be whole.
   */
  apply(
    msg: Pick<
      AssignmentsMessage,
      "complete" | "volumes" | "removedVolumeIds" | "volumesAuthoritative"
    >,
  ): void {
    if (msg.complete) {
      this.#known.clear();
      this.#authoritative = msg.volumesAuthoritative;
    } else if (!msg.volumesAuthoritative) {
      this.#authoritative = false;
    }
    for (const id of msg.removedVolumeIds) this.#known.delete(id);
    for (const v of msg.volumes) this.#known.set(v.id, v);
    if (msg.complete || msg.removedVolumeIds.length > 0) this.#schedulePrune();
  }

  /**
   * Records that task `taskId` may mount the volumes of `mounts` (from its assignment on, until
   * {@link release}): their directories are not deleted meanwhile.
   */
  hold(taskId: string, mounts: readonly Mount[]): void {
    const names = new Set<string>();
    for (const m of mounts) if (m.type === "volume" && m.source) names.add(m.source);
    const prev = this.#holders.get(taskId);
    if (prev) { for (const n of names) prev.names.add(n); }
    else this.#holders.set(taskId, { names });
  }

  /** Task `taskId` and its container are gone: its volumes may be deleted now. */
  release(taskId: string): void {
    if (this.#holders.delete(taskId) && this.#pruneDue) this.#schedulePrune();
  }

  /**
   * The runtime mounts of a task's spec mounts: volumes created on first use, bind sources
   * checked, tmpfs mounts passed on. With `taskId`, the volume directories are recorded as that
   * task's (see {@link hold}).
   */
  async resolve(mounts: readonly Mount[], taskId?: string): Promise<VolumeMount[]> {
    const volumes = await this.#locked(async () => {
      const dirs: string[] = [];
      for (const m of mounts) if (m.type === "volume") dirs.push(await this.#ensure(m.source!));
      if (taskId !== undefined) {
        this.hold(taskId, mounts);
        const h = this.#holders.get(taskId)!;
        h.dirs ??= new Set();
        for (const d of dirs) h.dirs.add(d);
      }
      return dirs;
    });
    // A directory this task did not let go of may now be free to delete.
    if (taskId !== undefined && this.#pruneDue) this.#schedulePrune();
    const out: VolumeMount[] = [];
    for (const [i, m] of mounts.entries()) {
      if (m.type === "volume") {
        out.push({
          source: join(this.#root, volumes.shift()!),
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

  /** Resolves once the pruning queued so far and the deletions it started have finished. */
  async settled(): Promise<void> {
    while (true) {
      const lock = this.#lock;
      await lock;
      if (this.#deleting.size > 0) await Promise.all(this.#deleting);
      else if (lock === this.#lock) return;
    }
  }

  /** The directory (entry) volume `name` is in, created if missing. Runs under the lock. */
  async #ensure(name: string): Promise<string> {
    this.path(name); // validates
    const id = this.#idOf(name);
    let entry: string;
    if (id !== undefined) {
      // An older worker's `<name>` is this volume's data until pruning renames it.
      entry = !(await this.#isDir(`${name}.${id}`)) && (await this.#isDir(name))
        ? name
        : `${name}.${id}`;
    } else {
      // No manager has said (yet) which volume has this name: the one directory there is.
      // With the whole set known, an ID it lacks belongs to a deleted volume: never that one.
      const found = (await this.#entries()).filter((e) =>
        e.name === name && (e.id === undefined || !this.#authoritative)
      );
      if (found.length > 1) {
        throw new FailedPreconditionError(
          `volume ${name} has ${found.length} directories on this node (${
            found.map((e) => e.entry).join(", ")
          }) and no manager has said yet which one is current`,
        );
      }
      entry = found[0]?.entry ?? name;
    }
    const dir = join(this.#root, entry);
    await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
    if (!(await Deno.lstat(dir)).isDirectory) {
      throw new FailedPreconditionError(`volume directory ${dir} is not a directory`);
    }
    return entry;
  }

  #idOf(name: string): string | undefined {
    for (const v of this.#known.values()) if (v.name === name) return v.id;
    return undefined;
  }

  async #isDir(entry: string): Promise<boolean> {
    try {
      return (await Deno.lstat(join(this.#root, entry))).isDirectory;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw err;
    }
  }

  /** The volume directories (not symlinks or files) under the root. */
  async #entries(): Promise<Entry[]> {
    const out: Entry[] = [];
    try {
      for await (const e of Deno.readDir(this.#root)) {
        const parsed = e.isDirectory ? parseEntry(e.name) : undefined;
        if (parsed) out.push(parsed);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return out.sort((a, b) => (a.entry < b.entry ? -1 : 1));
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  #schedulePrune(): void {
    if (!this.#authoritative || this.#pruneQueued) return;
    this.#pruneQueued = true;
    void this.#locked(() => {
      this.#pruneQueued = false;
      return this.#prune();
    }).catch((err) => this.#log.error("cannot prune deleted volumes", { err }));
  }

  /** Whether a task of this node may mount `e` (its own, or any of a name it has not resolved). */
  #inUse(e: Entry): boolean {
    for (const h of this.#holders.values()) {
      if (h.names.has(e.name) && (h.dirs === undefined || h.dirs.has(e.entry))) return true;
    }
    return false;
  }

  /** Deletes the directories of deleted volumes; adopts older workers' ones. Under the lock. */
  async #prune(): Promise<void> {
    if (!this.#authoritative) return;
    this.#pruneDue = false;
    const ids = new Map<string, string>();
    for (const v of this.#known.values()) ids.set(v.name, v.id);
    const entries = await this.#entries();
    const present = new Set(entries.map((e) => e.entry));
    for (const e of entries) {
      const id = ids.get(e.name);
      const deleted = e.id !== undefined ? !this.#known.has(e.id) : id === undefined;
      if (this.#inUse(e)) {
        if (deleted || e.id === undefined) this.#pruneDue = true;
        continue;
      }
      if (!deleted) {
        if (e.id === undefined && !present.has(`${e.name}.${id}`)) {
          // An older worker's directory of a volume that exists: named by ID from now on.
          await Deno.rename(join(this.#root, e.entry), join(this.#root, `${e.name}.${id}`));
          this.#log.info("volume directory renamed to carry its ID", { volume: e.name, id });
        }
        continue;
      }
      // Renamed first (atomic), deleted after, outside the lock: a crash midway leaves no
      // half-deleted directory under a volume's name, and a big one does not hold up tasks.
      const doomed = join(this.#root, `${DELETING_PREFIX}${e.entry}.${crypto.randomUUID()}`);
      await Deno.rename(join(this.#root, e.entry), doomed);
      this.#log.info("deleting the directory of a deleted volume", { entry: e.entry });
      this.#delete(doomed);
    }
    // Left over from a crash while deleting.
    try {
      for await (const e of Deno.readDir(this.#root)) {
        if (e.name.startsWith(DELETING_PREFIX) && !this.#deletingPaths.has(e.name)) {
          this.#delete(join(this.#root, e.name));
        }
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }

  /**
   * Deletes `path` without following symlinks: a link (also one a container made inside its
   * volume) is removed itself, never what it points to.
   */
  #delete(path: string): void {
    const base = path.slice(this.#root.length + 1);
    this.#deletingPaths.add(base);
    const p = (async () => {
      try {
        const st = await Deno.lstat(path);
        // Deno.remove(recursive) is Rust's remove_dir_all: it unlinks symlinks, never follows.
        await Deno.remove(path, { recursive: st.isDirectory });
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) {
          this.#log.error("cannot delete a deleted volume's directory", { path, err });
        }
      } finally {
        this.#deletingPaths.delete(base);
      }
    })();
    this.#deleting.add(p);
    void p.finally(() => this.#deleting.delete(p));
  }
}
