/**
 * The log files of tasks: `<dataDir>/logs/<taskId>.log` and its rotated copies (`.log.1`,
 * `.log.2`, ...), written through the runtime's log config. They go with the task: without that,
 * every task ever run on a node would keep its share of the disk (up to the rotation limit).
 * @module
 */
import { join } from "node:path";

/** `<taskId>.log` or `<taskId>.log.<N>`. */
const LOG_FILE = /^(.+)\.log(?:\.\d+)?$/;

/** The task log files under one worker data directory. */
export class TaskLogFiles {
  readonly #dir: string;

  constructor(dataDir: string) {
    this.#dir = join(dataDir, "logs");
  }

  /** The file task `taskId`'s output goes to (rotated copies get `.1`, `.2`, ... appended). */
  path(taskId: string): string {
    return join(this.#dir, `${taskId}.log`);
  }

  /** Removes task `taskId`'s log files. Idempotent. */
  async remove(taskId: string): Promise<void> {
    await this.#removeWhere((id) => id === taskId);
  }

  /** Removes the log files of every task not in `keep` (tasks removed while the worker was down). */
  async prune(keep: ReadonlySet<string>): Promise<void> {
    await this.#removeWhere((id) => !keep.has(id));
  }

  async #removeWhere(match: (taskId: string) => boolean): Promise<void> {
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(this.#dir)) {
        const id = LOG_FILE.exec(e.name)?.[1];
        if (e.isFile && id !== undefined && match(id)) names.push(e.name);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    for (const name of names) {
      await Deno.remove(join(this.#dir, name)).catch((err) => {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      });
    }
  }
}
