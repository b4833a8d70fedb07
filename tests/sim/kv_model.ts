/**
 * Sequential specification of the simulator's replicated key-value store, for the
 * linearizability checker: get, put and compare-and-set on string keys, partitioned per key.
 * @module
 */
import type { Model, Operation } from "./linearizability.ts";

/** A client request to the simulated KV store. */
export type KvInput =
  | { op: "get"; key: string }
  | { op: "put"; key: string; value: string }
  | { op: "cas"; key: string; expect: string | null; value: string };

/** What the store answered: the value read, or whether a cas applied. */
export type KvOutput = { value: string | null } | { ok: boolean };

/** The model of one key's register (partitioned per key, so the state is a single value). */
export const kvModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.op) {
      case "get":
        return {
          ok: output === undefined || (output as { value: string | null }).value === state,
          state,
        };
      case "put":
        return { ok: true, state: input.value };
      case "cas": {
        const applies = state === input.expect;
        if (output === undefined) return { ok: true, state: applies ? input.value : state };
        const ok = (output as { ok: boolean }).ok === applies;
        return { ok, state: applies ? input.value : state };
      }
    }
  },
  key: (state) => state === null ? "\u0000" : state,
  partition(ops: Operation<KvInput, KvOutput>[]) {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const o of ops) {
      const list = byKey.get(o.input.key) ?? [];
      list.push(o);
      byKey.set(o.input.key, list);
    }
    return [...byKey.values()];
  },
};
