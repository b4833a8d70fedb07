/**
 * Simulated clients. Each runs one operation at a time against the node it believes leads:
 * get (a ReadIndex read, or sometimes a log entry), put, or compare-and-set on a few keys. A
 * "not leader" answer redirects it; a timeout makes it retry elsewhere with the same request id
 * (the state machine applies a retried write once). Every operation is recorded with its call and
 * return instants on the simulator's logical clock; one the client gave up on is recorded with
 * an unknown outcome (`returnAt: Infinity`), as the linearizability checker expects.
 * @module
 */
import type { NodeId } from "../../manager/raft/core/types.ts";
import type { Operation } from "./linearizability.ts";
import type { KvInput, KvOutput } from "./kv_model.ts";
import type { ClientReply, Network } from "./network.ts";
import { clientAddress } from "./sim_node.ts";
import type { SimRng } from "./rng.ts";
import type { Trace } from "./trace.ts";

/** One client operation as the checker sees it. */
export type KvOperation = Operation<KvInput, KvOutput>;

/** How long a client waits for an answer before retrying, and before giving up. */
export interface ClientTimeouts {
  attemptSteps: number;
  giveUpSteps: number;
}

interface InFlight {
  op: KvOperation;
  requestId: number;
  viaLog: boolean;
  startedAt: number;
  deadline: number;
  /** Step at which to (re)send, or undefined while an attempt is outstanding. */
  sendAt: number | undefined;
}

/** Everything the clients need from the simulation. */
export interface ClientEnv {
  readonly rng: SimRng;
  readonly net: Network;
  readonly trace: Trace;
  /** The current step. */
  now(): number;
  /** A strictly increasing instant for call and return times. */
  clock(): number;
  /** Nodes a client may contact (the members it could know of). */
  targets(): NodeId[];
}

class Client {
  readonly id: number;
  nextRequestId = 1;
  leaderGuess: NodeId | undefined;
  current: InFlight | undefined;
  /** Values this client saw per key, to make plausible cas expectations. */
  readonly seen = new Map<string, string | null>();

  constructor(id: number) {
    this.id = id;
  }
}

/** The simulated clients and the history they produce. */
export class SimClients {
  /** Every operation ever called, in call order. */
  readonly history: KvOperation[] = [];
  readonly #clients: Client[];
  readonly #env: ClientEnv;
  readonly #keys: string[];
  readonly #timeouts: ClientTimeouts;
  readonly #opRate: number;
  readonly #logReadShare: number;

  constructor(
    env: ClientEnv,
    opts: {
      clients: number;
      keys: number;
      opRate: number;
      logReadShare: number;
      timeouts: ClientTimeouts;
    },
  ) {
    this.#env = env;
    this.#clients = Array.from({ length: opts.clients }, (_, i) => new Client(i + 1));
    this.#keys = Array.from({ length: opts.keys }, (_, i) => `k${i}`);
    this.#timeouts = opts.timeouts;
    this.#opRate = opts.opRate;
    this.#logReadShare = opts.logReadShare;
  }

  /** Operations in progress. */
  get outstanding(): number {
    return this.#clients.filter((c) => c.current).length;
  }

  /** One step: start operations (when `startNew`), send due attempts, time out stale ones. */
  step(startNew: boolean): void {
    const env = this.#env;
    const now = env.now();
    for (const c of this.#clients) {
      const cur = c.current;
      if (cur) {
        if (now - cur.startedAt >= this.#timeouts.giveUpSteps) {
          env.trace.add(now, () => `c${c.id} gives up on #${cur.requestId} ${fmt(cur.op.input)}`);
          c.current = undefined;
          continue;
        }
        if (cur.sendAt === undefined && now >= cur.deadline) {
          // No answer: the node may be down or partitioned away. Try another one.
          c.leaderGuess = undefined;
          cur.sendAt = now;
        }
        if (cur.sendAt !== undefined && now >= cur.sendAt) this.#send(c, cur);
      } else if (startNew && env.rng.chance(this.#opRate)) {
        this.#start(c, this.#randomInput(c));
      }
    }
  }

  /** Whether `op` is still being tried (not answered, not given up). */
  pending(op: KvOperation): boolean {
    return this.#clients.some((c) => c.current?.op === op);
  }

  /** Starts `input` on a dedicated client (the liveness probe). Returns the operation. */
  startProbe(input: KvInput): KvOperation {
    const c = new Client(this.#clients.length + 1);
    this.#clients.push(c);
    return this.#start(c, input);
  }

  #start(c: Client, input: KvInput): KvOperation {
    const env = this.#env;
    const op: KvOperation = {
      clientId: c.id,
      input,
      output: undefined,
      callAt: env.clock(),
      returnAt: Infinity,
    };
    this.history.push(op);
    const viaLog = input.op === "get" && env.rng.chance(this.#logReadShare);
    const cur: InFlight = {
      op,
      requestId: c.nextRequestId++,
      viaLog,
      startedAt: env.now(),
      deadline: 0,
      sendAt: env.now(),
    };
    c.current = cur;
    env.trace.add(
      env.now(),
      () => `c${c.id} calls #${cur.requestId} ${fmt(input)}${viaLog ? " (log read)" : ""}`,
    );
    this.#send(c, cur);
    return op;
  }

  #randomInput(c: Client): KvInput {
    const rng = this.#env.rng;
    const key = rng.pick(this.#keys);
    const value = `v${c.id}.${c.nextRequestId}`;
    const r = rng.float();
    if (r < 0.4) return { op: "get", key };
    if (r < 0.7) return { op: "put", key, value };
    const seen = c.seen.get(key);
    const expect = seen !== undefined && rng.chance(0.8)
      ? seen
      : rng.chance(0.5)
      ? null
      : `v1.${rng.range(1, 9)}`;
    return { op: "cas", key, expect, value };
  }

  #send(c: Client, cur: InFlight): void {
    const env = this.#env;
    const targets = env.targets();
    const to = c.leaderGuess ?? env.rng.pick(targets);
    cur.sendAt = undefined;
    cur.deadline = env.now() + this.#timeouts.attemptSteps;
    env.net.sendClient(env.now(), clientAddress(c.id), to, {
      kind: "request",
      clientId: c.id,
      requestId: cur.requestId,
      input: cur.op.input,
      viaLog: cur.viaLog,
    });
  }

  /** A reply arrived from a node. */
  onReply(r: ClientReply): void {
    const env = this.#env;
    const c = this.#clients[r.clientId - 1];
    const cur = c?.current;
    if (!cur || cur.requestId !== r.requestId) return;
    if (r.result.kind === "notLeader") {
      c.leaderGuess = r.result.leaderHint === "" ? undefined : r.result.leaderHint;
      if (cur.sendAt === undefined) cur.sendAt = env.now() + 1 + env.rng.int(3);
      return;
    }
    const output = r.result.output;
    cur.op.output = output;
    cur.op.returnAt = env.clock();
    c.current = undefined;
    const input = cur.op.input;
    if (input.op === "get" && "value" in output) c.seen.set(input.key, output.value);
    else if (input.op !== "get" && "ok" in output && output.ok) c.seen.set(input.key, input.value);
    env.trace.add(
      env.now(),
      () => `c${c.id} returns #${cur.requestId} ${fmt(input)} -> ${JSON.stringify(output)}`,
    );
  }
}

function fmt(input: KvInput): string {
  switch (input.op) {
    case "get":
      return `get ${input.key}`;
    case "put":
      return `put ${input.key}=${input.value}`;
    case "cas":
      return `cas ${input.key} ${input.expect}->${input.value}`;
  }
}
