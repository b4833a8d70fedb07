/**
 * The log files of tasks: `<dataDir>/logs/<taskId>.log` and its rotated copies (`.log.1`,
 * `.log.2`, ...), written through the runtime's log config.
 *
 * A task's files outlive its container for a while, so `service logs` still shows why a task
 * ended (a crash loop, a failed start), as Swarm shows its stopped containers' output: the
 * files of the {@link ENDED_KEPT} most recently ended tasks of the node are kept, older ones
 * deleted. Without a bound every task ever run on a node would keep its share of the disk (up
 * to the rotation limit).
 * @module
 */
import { join } from "node:path";
import type { LogEntry, LogsOptions } from "../runtime/runtime.ts";
import { readLogs } from "../runtime/log_reader.ts";

/** `<taskId>.log` or `<taskId>.log.<N>`. */
const LOG_FILE = /^(.+)\.log(?:\.(\d+))?$/;

/** How many ended tasks' log files a node keeps. */
export const ENDED_KEPT = 5;

/** One task's files: the highest rotation number present and the newest change. */
interface TaskFiles {
  names: string[];
  maxRotation: number;
  mtime: number;
}

/** The task log files under one worker data directory. */
export class TaskLogFiles {
  readonly #dir: string;
  readonly #endedKept: number;

  constructor(dataDir: string, opts: { endedKept?: number } = {}) {
    this.#dir = join(dataDir, "logs");
    this.#endedKept = opts.endedKept ?? ENDED_KEPT;
  }

  /** The file task `taskId`'s output goes to (rotated copies get `.1`, `.2`, ... appended). */
  path(taskId: string): string {
    return join(this.#dir, `${taskId}.log`);
  }

  /**
   * Task `taskId` ended and its container is gone: its files are kept among the ended ones,
   * and the oldest ended tasks' files beyond the bound are deleted. `live` are the tasks that
   * still have a container (theirs are never touched).
   */
  async retire(taskId: string, live: ReadonlySet<string>): Promise<void> {
    const now = new Date();
    await Deno.utime(this.path(taskId), now, now).catch(() => {}); // it ended now
    await this.prune(live);
  }

  /**
   * Deletes the files of every task not in `keep`, except those of the most recently ended
   * ones (tasks removed while the worker was down count as ended when their files last changed).
   */
  async prune(keep: ReadonlySet<string>): Promise<void> {
    const ended = [...(await this.#list()).entries()].filter(([id]) => !keep.has(id))
      .sort(([, a], [, b]) => b.mtime - a.mtime);
    for (const [, files] of ended.slice(this.#endedKept)) await this.#delete(files.names);
  }

  /** Deletes every task log file (the node left its cluster). */
  async removeAll(): Promise<void> {
    for (const files of (await this.#list()).values()) await this.#delete(files.names);
  }

  /**
   * The lines of a task whose container is gone, from its kept files; undefined when none are
   * kept. A follow ends at the end of the files: nothing writes to them any more.
   */
  async ended(
    taskId: string,
    options: LogsOptions = {},
  ): Promise<AsyncIterable<LogEntry> | undefined> {
    const files = (await this.#list()).get(taskId);
    if (!files) return undefined;
    const { follow: _, ...rest } = options;
    return readLogs(this.path(taskId), { ...rest, maxFiles: files.maxRotation + 1 });
  }

  async #list(): Promise<Map<string, TaskFiles>> {
    const tasks = new Map<string, TaskFiles>();
    try {
      for await (const e of Deno.readDir(this.#dir)) {
        const m = LOG_FILE.exec(e.name);
        if (!e.isFile || !m) continue;
        const id = m[1]!;
        const mtime = (await Deno.stat(join(this.#dir, e.name)).catch(() => undefined))?.mtime
          ?.getTime() ?? 0;
        const t = tasks.get(id) ?? { names: [], maxRotation: 0, mtime: 0 };
        t.names.push(e.name);
        t.maxRotation = Math.max(t.maxRotation, Number(m[2] ?? 0));
        t.mtime = Math.max(t.mtime, mtime);
        tasks.set(id, t);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return tasks;
  }

  async #delete(names: readonly string[]): Promise<void> {
    for (const name of names) {
      await Deno.remove(join(this.#dir, name)).catch((err) => {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      });
    }
  }
}
