/**
 * Linearizability checker for client histories, after Wing & Gong with the memoisation of
 * Lowe / Porcupine: depth-first search over the orders in which operations may have taken effect,
 * pruning states (set of linearized operations + model state) seen before.
 *
 * Operations whose outcome is unknown (timed out, connection lost) have `returnAt: Infinity`
 * and `output: undefined`: they may take effect at any point after their call, or never (taking
 * effect after everything is observationally the same as never).
 * @module
 */

/** One client operation: its call and return instants on a single logical clock. */
export interface Operation<I, O> {
  clientId: number;
  input: I;
  /** undefined when the client never learnt the outcome. */
  output: O | undefined;
  callAt: number;
  /** Infinity when the client never learnt the outcome. */
  returnAt: number;
}

/** A sequential specification of the object under test. */
export interface Model<S, I, O> {
  init(): S;
  /** Applies `input` in `state`; ok=false when `output` cannot be what the object returned. */
  step(state: S, input: I, output: O | undefined): { ok: boolean; state: S };
  /** A canonical string of the state, for memoisation. */
  key(state: S): string;
  /** Splits a history into independent sub-histories (e.g. per key); default: one. */
  partition?(ops: Operation<I, O>[]): Operation<I, O>[][];
}

/** Checker verdict; on failure, the partition that could not be linearized. */
export type CheckResult<I, O> =
  | { ok: true }
  | { ok: false; partition: Operation<I, O>[]; reason: string };

interface Entry {
  op: number;
  isCall: boolean;
  time: number;
  match: Entry | undefined; // a call's return entry
  prev: Entry | undefined;
  next: Entry | undefined;
}

/** Decides whether `ops` is linearizable with respect to `model`. */
export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  ops: Operation<I, O>[],
  opts: { maxStates?: number } = {},
): CheckResult<I, O> {
  const parts = model.partition ? model.partition(ops) : [ops];
  for (const part of parts) {
    const verdict = checkPartition(model, part, opts.maxStates ?? 5_000_000);
    if (verdict !== true) return { ok: false, partition: part, reason: verdict };
  }
  return { ok: true };
}

function buildList<I, O>(ops: Operation<I, O>[]): Entry {
  const events: Entry[] = [];
  ops.forEach((o, i) => {
    if (!(o.returnAt >= o.callAt)) throw new Error(`operation ${i} returns before its call`);
    const ret: Entry = {
      op: i,
      isCall: false,
      time: o.returnAt,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    const call: Entry = {
      op: i,
      isCall: true,
      time: o.callAt,
      match: ret,
      prev: undefined,
      next: undefined,
    };
    events.push(call, ret);
  });
  // At equal instants calls go first: the operations then overlap (the permissive reading).
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Entry = {
    op: -1,
    isCall: false,
    time: -Infinity,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

function lift(call: Entry): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

function unlift(call: Entry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}

function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  ops: Operation<I, O>[],
  maxStates: number,
): true | string {
  if (ops.length === 0) return true;
  const head = buildList(ops);
  const linearized = new Uint32Array(Math.ceil(ops.length / 32));
  const seen = new Set<string>();
  const stack: { call: Entry; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  while (head.next) {
    if (!entry) return "internal: ran off the event list";
    if (entry.isCall) {
      const op = ops[entry.op];
      const next = model.step(state, op.input, op.output);
      if (next.ok) {
        linearized[entry.op >> 5] ^= 1 << (entry.op & 31);
        const key = `${linearized.join(",")}|${model.key(next.state)}`;
        if (!seen.has(key)) {
          if (seen.size >= maxStates) return `gave up after ${maxStates} states`;
          seen.add(key);
          stack.push({ call: entry, state });
          state = next.state;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized[entry.op >> 5] ^= 1 << (entry.op & 31);
      }
      entry = entry.next;
    } else {
      // A return before its call was linearized: undo the latest choice and try the next one.
      const top = stack.pop();
      if (!top) {
        return `no order explains the history; operation ${entry.op} (client ${
          ops[entry.op].clientId
        }) cannot be placed`;
      }
      state = top.state;
      linearized[top.call.op >> 5] ^= 1 << (top.call.op & 31);
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return true;
}
