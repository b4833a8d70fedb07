/**
 * The worker's local state: one record per task (assignment, last observed status, local
 * restart times) in Deno KV under the data directory, so a restarted worker knows which
 * containers it owns and where each task stood. Secret data is never stored here.
 *
 * A record is JSON split into chunks below Deno KV's 64 KiB value limit; the writes of one
 * record are one atomic commit.
 * @module
 */
import type { TaskRecord } from "./task_runner.ts";

const CHUNK_BYTES = 60_000;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Task records in Deno KV. */
export class LocalState implements AsyncDisposable {
  readonly #kv: Deno.Kv;
  readonly #chunks = new Map<string, number>();
  #queue: Promise<void> = Promise.resolve();

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

  /** Queues a write of `record` (writes apply in call order). */
  put(record: TaskRecord): Promise<void> {
    const bytes = enc.encode(JSON.stringify(record));
    return this.#enqueue(async () => {
      const id = record.assignment.task.id;
      const n = Math.max(1, Math.ceil(bytes.length / CHUNK_BYTES));
      const old = this.#chunks.get(id) ?? 0;
      const op = this.#kv.atomic().set(["task", id], n);
      for (let i = 0; i < n; i++) {
        op.set(["chunk", id, i], bytes.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
      }
      for (let i = n; i < old; i++) op.delete(["chunk", id, i]);
      await op.commit();
      this.#chunks.set(id, n);
    });
  }

  /** Queues the removal of task `id`'s record. */
  delete(id: string): Promise<void> {
    return this.#enqueue(async () => {
      const old = this.#chunks.get(id) ?? 0;
      const op = this.#kv.atomic().delete(["task", id]);
      for (let i = 0; i < old; i++) op.delete(["chunk", id, i]);
      await op.commit();
      this.#chunks.delete(id);
    });
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

  #enqueue(fn: () => Promise<void>): Promise<void> {
    const p = this.#queue.then(fn);
    this.#queue = p.catch(() => {});
    return p;
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
