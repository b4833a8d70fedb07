/**
 * One simulated node: a real RaftCore over a simulated disk, the KV state machine, and the shell
 * that handles each Ready in the order the contract prescribes (persist, sync when mustSync, send,
 * apply, hand out read states, advance), with crash points between the steps. Client requests
 * arrive over the simulated network; writes are proposed, reads confirmed with ReadIndex.
 * @module
 */
import { ProposalDroppedError } from "../../manager/raft/core/errors.ts";
import type { Message } from "../../manager/raft/core/messages.ts";
import { describeMessage } from "../../manager/raft/core/transcript/describe.ts";
import { RaftCore } from "../../manager/raft/core/raft_core.ts";
import type { Ready } from "../../manager/raft/core/ready.ts";
import { type NodeId, NONE, type Role, type Snapshot } from "../../manager/raft/core/types.ts";
import { type Checkers, CheckFailure } from "./checkers.ts";
import { describeBatch, type DiskOp, SimDisk } from "./disk.ts";
import type { KvOutput } from "./kv_model.ts";
import { decodeCommand, encodeCommand, KvStateMachine } from "./kv_state_machine.ts";
import { type ClientRequest, type Envelope, Network } from "./network.ts";
import type { SimParams } from "./params.ts";
import type { SimRng } from "./rng.ts";
import type { Trace } from "./trace.ts";

/** Where in handling a Ready a node may crash. */
export type CrashPoint = "afterPersist" | "afterSync" | "afterSend" | "afterApply" | "inSnapshot";

/** Counters for the coverage summary. */
export interface NodeStats {
  readies: number;
  readyCrashes: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  confChangesApplied: number;
}

/** What a node needs from the simulation around it. */
export interface NodeEnv {
  readonly rng: SimRng;
  readonly net: Network;
  readonly checkers: Checkers;
  readonly trace: Trace;
  readonly params: SimParams;
  readonly stats: NodeStats;
  /** The current step. */
  now(): number;
  /** Whether a node can reach another right now (its transport would notice otherwise). */
  reachable(from: NodeId, to: NodeId): boolean;
}

/** The client address of client `clientId` on the network. */
export function clientAddress(clientId: number): string {
  return `c${clientId}`;
}

/** A node and its disk; the core and application exist only while it runs. */
export class SimNode {
  readonly id: NodeId;
  readonly disk: SimDisk;
  core: RaftCore | undefined;
  readonly kv = new KvStateMachine();
  /** Index of the last entry (or snapshot) the application applied. */
  appliedIndex = 0;
  /** Last observed role and term, for the trace. */
  role: Role = "follower";
  term = 0;
  readonly #env: NodeEnv;
  /** Writes proposed here, by "client:request", answered when applied here. */
  readonly #pendingWrites = new Set<string>();
  /** ReadIndex contexts → the read waiting for them. */
  readonly #pendingReads = new Map<string, { clientId: number; requestId: number; key: string }>();
  /** Confirmed reads waiting for the application to reach their index. */
  #readyReads: { index: number; context: string }[] = [];
  /** Transport reports, handed to the core after the Ready is advanced. */
  #reports: (() => void)[] = [];
  #readSeq = 0;

  constructor(id: NodeId, initial: Snapshot | undefined, env: NodeEnv) {
    this.id = id;
    this.#env = env;
    this.disk = new SimDisk(initial, { loseSyncedWrites: env.params.bugs.loseSyncedWrites });
  }

  /** Whether the node runs. */
  get up(): boolean {
    return this.core !== undefined;
  }

  /** Starts (or restarts) the node from its disk. */
  start(): void {
    const env = this.#env;
    const storage = this.disk.storage;
    if (env.params.bugs.forgetVote) {
      storage.setHardState({ ...storage.initialState().hardState, vote: NONE });
    }
    this.core = new RaftCore({ id: this.id, ...env.params.raft, rand: env.rng.asRand() }, storage);
    const snap = storage.snapshot();
    this.kv.restore(snap.data);
    this.appliedIndex = snap.meta.index;
    env.checkers.afterRestore(this.id, snap.meta.index, this.kv.digest());
    const s = this.core.status();
    env.checkers.onRestart(this.id, s.commit, this.disk.durableHardState().commit, snap.meta.index);
    this.role = s.role;
    this.term = s.term;
    env.trace.add(
      env.now(),
      () =>
        `${this.id} starts: term ${s.term}, commit ${s.commit}, log [${s.firstIndex}, ${s.lastIndex}]`,
    );
  }

  /** Power loss: the core, the application and every request in progress are gone. */
  crash(where: string): void {
    const env = this.#env;
    const lost = this.disk.crash(env.rng, env.rng.chance(0.5) ? "torn" : "loseUnsynced");
    this.core = undefined;
    this.#pendingWrites.clear();
    this.#pendingReads.clear();
    this.#readyReads = [];
    this.#reports = [];
    env.trace.add(env.now(), () => `${this.id} CRASHES ${where} (${lost} unsynced batches lost)`);
  }

  /** Advances the node's clock one tick. */
  tick(): void {
    this.core?.tick();
  }

  /** Checks the core's role and term (from `s`, or read now) with the election-safety checker. */
  observe(s?: { role: Role; term: number }): void {
    if (!this.core) return;
    s ??= this.core.status();
    this.#env.checkers.observeRole(this.id, s.term, s.role);
    if (s.role !== this.role || s.term !== this.term) {
      const from = `${this.role}@${this.term}`;
      this.#env.trace.add(this.#env.now(), () => `${this.id} ${from} -> ${s.role}@${s.term}`);
      this.role = s.role;
      this.term = s.term;
    }
  }

  /** Handles a delivered envelope: a Raft message or a client request. */
  receive(e: Envelope): void {
    const core = this.core;
    if (!core) return;
    if (e.payload.kind === "raft") {
      const m = Network.decode(e);
      this.#env.trace.add(this.#env.now(), () => `  ${describeMessage(m)}`);
      core.step(m);
      // Only these can make a node leader in one step (it may lose the role before the step ends).
      if (m.type === "MsgVoteResp" || m.type === "MsgPreVoteResp" || m.type === "MsgTimeoutNow") {
        this.observe();
      }
    } else if (e.payload.kind === "request") {
      this.#clientRequest(core, e.payload);
    }
  }

  #clientRequest(core: RaftCore, req: ClientRequest): void {
    const env = this.#env;
    const s = core.status();
    if (s.role !== "leader" && s.lead !== NONE && env.rng.chance(0.5)) {
      this.#reply(req.clientId, req.requestId, { kind: "notLeader", leaderHint: s.lead });
      return;
    }
    if (env.params.bugs.staleReads && req.input.op === "get") {
      this.#reply(req.clientId, req.requestId, {
        kind: "ok",
        output: { value: this.kv.get(req.input.key) },
      });
      return;
    }
    try {
      if (req.input.op === "get" && !req.viaLog) {
        const context = `${this.id}/${req.clientId}/${req.requestId}/${++this.#readSeq}`;
        core.readIndex(context);
        this.#pendingReads.set(context, { ...req, key: req.input.key });
      } else {
        core.propose(encodeCommand({ ...req }));
        this.#pendingWrites.add(`${req.clientId}:${req.requestId}`);
      }
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      this.#reply(req.clientId, req.requestId, { kind: "notLeader", leaderHint: s.lead });
    }
  }

  #reply(
    clientId: number,
    requestId: number,
    result: { kind: "ok"; output: KvOutput } | { kind: "notLeader"; leaderHint: NodeId },
  ): void {
    const env = this.#env;
    env.net.sendClient(env.now(), this.id, clientAddress(clientId), {
      kind: "reply",
      clientId,
      requestId,
      result,
    });
  }

  #crashHere(point: CrashPoint): boolean {
    const env = this.#env;
    if (!env.rng.chance(env.params.faults.readyCrashRate)) return false;
    env.stats.readyCrashes++;
    this.crash(point);
    return true;
  }

  /** Handles one Ready if the core has one. Returns false when there was none or it crashed. */
  handleReady(): boolean {
    const core = this.core;
    if (!core || !core.hasReady()) return false;
    const env = this.#env;
    env.stats.readies++;
    const rd = core.ready();
    if (rd.softState) this.observe();
    const batch: DiskOp[] = [];
    if (rd.snapshot) batch.push({ kind: "applySnapshot", snapshot: rd.snapshot });
    if (rd.entries.length > 0) batch.push({ kind: "append", entries: rd.entries });
    if (rd.hardState) batch.push({ kind: "hardState", hardState: rd.hardState });
    // Planted bug: votes and acknowledgements leave before they are durable.
    if (env.params.bugs.sendBeforePersist) this.#send(rd.messages);
    this.disk.write(batch);
    env.trace.add(
      env.now(),
      () => `${this.id} ready: ${describeBatch(batch)}${rd.mustSync ? " sync" : ""}`,
    );
    env.checkers.afterPersist(this.id, this.disk.storage, rd);
    if (this.#crashHere("afterPersist")) return false;
    // Workaround (README, "Known core issues"): a snapshot is acknowledged as durable, so sync it.
    if (rd.mustSync || (rd.snapshot && !env.params.strictMustSync)) this.disk.sync();
    if (this.#crashHere("afterSync")) return false;
    if (!env.params.bugs.sendBeforePersist) this.#send(rd.messages);
    if (this.#crashHere("afterSend")) return false;
    this.#apply(rd);
    if (this.#crashHere("afterApply")) return false;
    for (const rs of rd.readStates) {
      if (this.#pendingReads.has(rs.context)) this.#readyReads.push(rs);
    }
    core.advance(rd);
    const reports = this.#reports;
    this.#reports = [];
    for (const report of reports) report();
    this.observe();
    this.#maybeSnapshot(core);
    if (
      env.params.bugs.forgetVote && this.up &&
      rd.messages.some((m) => m.type === "MsgVoteResp" && !m.reject)
    ) {
      this.crash("after granting a vote (planted bug)");
      this.start();
    }
    return this.up;
  }

  #send(messages: Message[]): void {
    const env = this.#env;
    for (const m of messages) {
      env.checkers.checkSend(this.id, m, this.disk.durable);
      env.net.sendRaft(env.now(), m);
      // A real transport notices a dead link and tells the core (not always: some losses are silent).
      if (!env.reachable(m.from, m.to) && env.rng.chance(0.5)) {
        const core = this.core!;
        this.#reports.push(() => core.reportUnreachable(m.to));
        if (m.type === "MsgSnap") this.#reports.push(() => core.reportSnapshot(m.to, "failure"));
      }
    }
  }

  #apply(rd: Ready): void {
    const env = this.#env;
    if (rd.snapshot) {
      this.kv.restore(rd.snapshot.data);
      this.appliedIndex = rd.snapshot.meta.index;
      env.stats.snapshotsInstalled++;
      env.checkers.afterRestore(this.id, this.appliedIndex, this.kv.digest());
      env.trace.add(env.now(), () => `${this.id} installs snapshot at ${this.appliedIndex}`);
    }
    for (const e of rd.committedEntries) {
      if (e.index !== this.appliedIndex + 1) {
        throw new CheckFailure(
          "apply in order",
          `${this.id} got entry ${e.index} to apply after ${this.appliedIndex}`,
        );
      }
      if (e.type === "confChange") env.stats.confChangesApplied++;
      if (e.type === "normal" && e.data.byteLength > 0) {
        const cmd = decodeCommand(e.data);
        const output = this.kv.apply(cmd);
        const key = `${cmd.clientId}:${cmd.requestId}`;
        if (this.#pendingWrites.delete(key) && output !== undefined) {
          this.#reply(cmd.clientId, cmd.requestId, { kind: "ok", output });
        }
      }
      this.appliedIndex = e.index;
      const digest = env.checkers.wantsDigest(e.index) ? this.kv.digest() : undefined;
      env.checkers.afterApply(this.id, e, digest);
    }
  }

  /** Answers confirmed reads whose index the application has reached. */
  serveReads(): void {
    if (this.#readyReads.length === 0) return;
    const waiting: { index: number; context: string }[] = [];
    for (const rs of this.#readyReads) {
      const read = this.#pendingReads.get(rs.context);
      if (!read) continue;
      if (rs.index > this.appliedIndex) {
        waiting.push(rs);
        continue;
      }
      this.#pendingReads.delete(rs.context);
      this.#reply(read.clientId, read.requestId, {
        kind: "ok",
        output: { value: this.kv.get(read.key) },
      });
    }
    this.#readyReads = waiting;
  }

  /** Every `snapshotEvery` applied entries: snapshot the application and compact the log. */
  #maybeSnapshot(core: RaftCore): void {
    const env = this.#env;
    const every = env.params.kv.snapshotEvery;
    const storage = this.disk.storage;
    if (this.appliedIndex - storage.snapshot().meta.index < every) return;
    const index = this.appliedIndex;
    const batch: DiskOp[] = [{
      kind: "createSnapshot",
      index,
      confState: core.confState(),
      data: this.kv.snapshot(),
    }];
    // Sometimes keep a tail of entries, so followers slightly behind need no snapshot.
    const compactTo = index - env.rng.int(Math.floor(every / 2) + 1);
    if (compactTo >= storage.firstIndex()) batch.push({ kind: "compact", index: compactTo });
    this.disk.write(batch);
    env.stats.snapshotsTaken++;
    if (this.#crashHere("inSnapshot")) return;
    this.disk.sync();
  }
}
