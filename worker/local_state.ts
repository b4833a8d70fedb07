/**
 * The worker's local state: one record per task (assignment, last observed status, local
 * restart times) in Deno KV under the data directory, so a restarted worker knows which
 * containers it owns and where each task stood. Secret data is never stored here.
 *
 * A record is JSON split into chunks below Deno KV's 64 KiB value limit; the writes of one
 * record are always in one atomic commit.
 *
 * Writes are coalesced: while one commit runs, later writes wait, and only the newest write of
 * each task goes into the next commit, with those of every other task (a 30-task start makes
 * ~150 status changes; committing each alone kept SQLite busy for a second).
 * @module
 */
import type { TaskRecord } from "./task_runner.ts";

const CHUNK_BYTES = 60_000;
/** Per commit, well below Deno KV's limits (1,000 mutations, 800 KiB). */
const COMMIT_MUTATIONS_MAX = 500;
const COMMIT_BYTES_MAX = 512 * 1024;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Task records in Deno KV. */
export class LocalState implements AsyncDisposable {
  readonly #kv: Deno.Kv;
  readonly #chunks = new Map<string, number>();
  /** Newest unwritten record per task; `undefined` deletes it. */
  readonly #pending = new Map<string, Uint8Array | undefined>();
  /** Settles after the last scheduled commit. */
  #queue: Promise<void> = Promise.resolve();
  #next: Promise<void> | undefined;
  /** Commits made so far (tests and diagnostics). */
  commits = 0;

  private constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Opens (creating) the store at `path` (`:memory:` for tests). */
  static async open(path: string): Promise<LocalState> {
    return new LocalState(await Deno.openKv(path));
  }

  /** Every stored record. */
  async load(): Promise<TaskRecord[]> {
    const out: TaskRecord[] = [];
    for await (const e of this.#kv.list<number>({ prefix: ["task"] })) {
      const id = e.key[1] as string;
      const n = e.value;
      const parts: Uint8Array[] = [];
      for (let i = 0; i < n; i++) {
        const c = await this.#kv.get<Uint8Array>(["chunk", id, i]);
        if (!c.value) throw new Error(`local state of task ${id} is missing chunk ${i}`);
        parts.push(c.value);
      }
      this.#chunks.set(id, n);
      out.push(JSON.parse(dec.decode(concat(parts))) as TaskRecord);
    }
    return out;
  }

  /** Queues a write of `record`; resolves once it (or a newer write of the task) is committed. */
  put(record: TaskRecord): Promise<void> {
    this.#pending.set(record.assignment.task.id, enc.encode(JSON.stringify(record)));
    return this.#schedule();
  }

  /** Queues the removal of task `id`'s record. */
  delete(id: string): Promise<void> {
    this.#pending.set(id, undefined);
    return this.#schedule();
  }

  /** Resolves once every queued write has been committed (or failed). */
  flushed(): Promise<void> {
    return this.#queue;
  }

  /** Waits for queued writes, then closes the database. */
  async close(): Promise<void> {
    await this.#queue;
    this.#kv.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The next commit: it starts once the running one is done and takes what is pending then. */
  #schedule(): Promise<void> {
    if (!this.#next) {
      const next = this.#queue.then(() => {
        this.#next = undefined;
        return this.#commitPending();
      });
      this.#next = next;
      this.#queue = next.catch(() => {});
    }
    return this.#next;
  }

  async #commitPending(): Promise<void> {
    const batch = [...this.#pending];
    this.#pending.clear();
    let op = this.#kv.atomic();
    let applied: [string, number][] = [];
    let mutations = 0;
    let bytes = 0;
    const commit = async () => {
      if (mutations === 0) return;
      await op.commit();
      this.commits++;
      for (const [id, n] of applied) {
        if (n === 0) this.#chunks.delete(id);
        else this.#chunks.set(id, n);
      }
      op = this.#kv.atomic();
      applied = [];
      mutations = 0;
      bytes = 0;
    };
    for (const [id, data] of batch) {
      const old = this.#chunks.get(id) ?? 0;
      const n = data ? Math.max(1, Math.ceil(data.length / CHUNK_BYTES)) : 0;
      const size = data?.length ?? 0;
      if (
        mutations + 1 + Math.max(n, old) > COMMIT_MUTATIONS_MAX ||
        bytes + size > COMMIT_BYTES_MAX
      ) await commit();
      if (data) {
        op.set(["task", id], n);
        for (let i = 0; i < n; i++) {
          op.set(["chunk", id, i], data.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
        }
      } else {
        op.delete(["task", id]);
      }
      for (let i = n; i < old; i++) op.delete(["chunk", id, i]);
      applied.push([id, n]);
      mutations += 1 + Math.max(n, old);
      bytes += size;
    }
    await commit();
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
