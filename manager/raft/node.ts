/**
 * The Raft I/O shell: drives the pure core with a timer, persists to storage, sends through a
 * transport, applies committed commands to a state machine and resolves the callers waiting on
 * them. See core/ready.ts for the order every Ready is handled in (persist → send → apply →
 * advance); `#handleReady` follows it line by line.
 * @module
 */
import { RaftCore } from "./core/raft_core.ts";
import type { Ready } from "./core/ready.ts";
import type { RaftConfig } from "./core/config.ts";
import { decodeConfChange, decodeMessage, encodeMessage } from "./core/codec.ts";
import type { Message } from "./core/messages.ts";
import type { WritableStorage } from "./core/storage.ts";
import type { ConfChange, Entry, HardState, Snapshot } from "./core/types.ts";
import type { Status } from "./core/status.ts";
import { openEnvelope, sealEnvelope } from "./envelope.ts";
import { type Expiry, ExpiryQueue } from "./expiry_queue.ts";
import { Members } from "./members.ts";
import { splitEarlyMessages } from "./parallel_append.ts";
import {
  isHaltingError,
  packSnapshot,
  type StateMachine,
  unpackSnapshot,
} from "./state_machine.ts";
import {
  DeadlineExceededError,
  NotLeaderError,
  ResourceExhaustedError,
  UnavailableError,
  ValidationError,
} from "../../proto/errors.ts";

/** Storage the shell writes through: the core's write side plus one batched persist. */
export interface PersistentStorage extends WritableStorage {
  persist(w: { entries: Entry[]; hardState: HardState | undefined }): Promise<void>;
}

/** Moves encoded Raft messages between managers. Implemented in net/raft over gRPC. */
export interface RaftTransport {
  /** Queues one encoded message for `to`; never blocks, may drop (Raft retries). */
  send(to: string, msg: Uint8Array): void;
  /** Records or updates a peer's address. */
  setPeer(id: string, address: string): void;
  /** Forgets a peer. */
  removePeer(id: string): void;
}

/** Leadership as the shell last saw it. */
export interface LeaderInfo {
  leaderId: string;
  term: number;
  isLeader: boolean;
}

/** Options of a {@link RaftNode}. */
export interface RaftNodeOptions {
  id: string;
  /** Address other managers reach this node's Raft transport at. */
  address: string;
  storage: PersistentStorage;
  transport: RaftTransport;
  stateMachine: StateMachine;
  /** Addresses of peers known before the log says so (a joining node's managers). */
  peers?: Record<string, string>;
  /** Milliseconds per logical tick. Default 50 (the heartbeat interval). */
  tickMs?: number;
  /** Core options other than id (electionTicks default 6: a 300-600 ms election timeout). */
  core?: Omit<RaftConfig, "id" | "applied">;
  /** Take a snapshot every this many applied entries. Default 10,000. */
  snapshotEveryEntries?: number;
  /** Entries kept below a snapshot for slow followers. Default 5,000. */
  keepEntriesAfterSnapshot?: number;
  /** How long propose/read/membership calls wait. Default 10 s. */
  requestTimeoutMs?: number;
  /**
   * Most proposals queued for the loop's next pass; past it `propose` refuses with
   * ResourceExhaustedError. Default 10,000.
   */
  maxQueuedProposals?: number;
  /**
   * Let the leader send MsgApp while it writes the same entries to its own log (thesis
   * §10.2.1; see parallel_append.ts for why it is safe). Default true.
   */
  parallelLeaderAppend?: boolean;
  /** Called on every error the loop survives (failed sends are normal; storage failures are not). */
  onError?: (err: unknown) => void;
}

interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  expiry: Expiry;
  /** The term in which this node, a follower then, forwarded the proposal to its leader. */
  forwardedInTerm?: number;
}

/** One manager's Raft node. */
export class RaftNode {
  readonly id: string;
  readonly #o: Required<Omit<RaftNodeOptions, "peers" | "core" | "onError">> & {
    onError: (err: unknown) => void;
  };
  readonly #core: RaftCore;
  /** The configuration's members with addresses; keeps the transport's peers in step. */
  readonly #members: Members;
  /**
   * The last proposal (and read) sequence number. It starts at random, not at 0: the log keeps
   * this node's entries from earlier runs, and one applied again after a restart (a lost commit
   * index, a replay spread over several Readies) must not answer a new caller whose number it
   * happens to carry. A start below 2^52 leaves 2^52 numbers per run as exact integers (the
   * envelope stores a float64).
   */
  #seq = crypto.getRandomValues(new Uint32Array(1))[0] * 2 ** 20;
  readonly #proposals = new Map<number, Waiter>();
  readonly #reads = new Map<string, Waiter>();
  /** Reads confirmed at an index, waiting for the state machine to get there. */
  #readsAtIndex: { index: number; w: Waiter }[] = [];
  #applied: number;
  #snapshotIndex: number;
  #lead: LeaderInfo = { leaderId: "", term: 0, isLeader: false };
  readonly #leaderListeners = new Set<(l: LeaderInfo) => void>();
  #ticker: ReturnType<typeof setInterval> | undefined;
  #wake: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #fatal: unknown;
  readonly #failed = Promise.withResolvers<unknown>();
  /** A commit-only hard state change not yet written (see #handleReady). */
  #pendingHard: HardState | undefined;
  /** The latest hard state handed to storage (durable, or pending as a commit-only change). */
  #hard: HardState;
  /** Proposals waiting for the loop's next pass, which hands them to the core together. */
  #queued: { seq: number; data: Uint8Array; bytes: number }[] = [];
  /** Timeouts of the calls waiting in #proposals and #reads (one timer for all). */
  readonly #expiries: ExpiryQueue;

  constructor(opts: RaftNodeOptions) {
    this.id = opts.id;
    this.#o = {
      id: opts.id,
      address: opts.address,
      storage: opts.storage,
      transport: opts.transport,
      stateMachine: opts.stateMachine,
      tickMs: opts.tickMs ?? 50,
      snapshotEveryEntries: opts.snapshotEveryEntries ?? 10_000,
      keepEntriesAfterSnapshot: opts.keepEntriesAfterSnapshot ?? 5_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 10_000,
      maxQueuedProposals: opts.maxQueuedProposals ?? 10_000,
      parallelLeaderAppend: opts.parallelLeaderAppend ?? true,
      onError: opts.onError ?? (() => {}),
    };
    this.#expiries = new ExpiryQueue(this.#o.requestTimeoutMs);
    this.#members = new Members({
      selfId: opts.id,
      selfAddress: opts.address,
      transport: opts.transport,
      peers: opts.peers,
    });
    // Restore the application and member addresses from the latest snapshot; committed entries
    // after it are re-applied by the core on start.
    this.#hard = opts.storage.initialState().hardState;
    const snap = opts.storage.snapshot();
    this.#snapshotIndex = snap.meta.index;
    this.#applied = snap.meta.index;
    if (snap.meta.index > 0) this.#restore(snap);
    this.#core = new RaftCore(
      { electionTicks: 6, heartbeatTicks: 1, ...opts.core, id: opts.id, applied: this.#applied },
      opts.storage,
    );
    // The members are the snapshot's configuration; the entries after it, re-applied on start,
    // change them as they did before the restart.
    this.#members.sync(this.#core.confState());
  }

  /**
   * Bootstraps a brand-new single-voter cluster in empty storage: an initial snapshot at index 1
   * holding the empty application state with this node as the only voter.
   */
  static async bootstrap(
    storage: PersistentStorage,
    opts: { id: string; address: string; stateMachine: StateMachine },
  ): Promise<void> {
    if (storage.lastIndex() > 0 || storage.initialState().hardState.term > 0) {
      throw new ValidationError(
        "dataDir",
        "holds an existing Raft log: it was initialized already",
      );
    }
    await storage.applySnapshot({
      meta: { index: 1, term: 1, confState: { voters: [opts.id], learners: [] } },
      data: packSnapshot({ [opts.id]: opts.address }, opts.stateMachine.snapshot()),
    });
    await storage.setHardState({ term: 1, vote: "", commit: 1 });
  }

  /** Starts the tick timer and the Ready loop. */
  start(): void {
    if (this.#running) return;
    this.#ticker = setInterval(() => {
      this.#core.tick();
      this.#kick();
    }, this.#o.tickMs);
    this.#running = this.#loop();
  }

  /** Stops ticking, fails waiting callers and waits for the loop to finish its Ready. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#ticker);
    this.#kick();
    await this.#running;
    if (this.#pendingHard && !this.#fatal) {
      await this.#o.storage.persist({ entries: [], hardState: this.#pendingHard });
      this.#pendingHard = undefined;
    }
    this.#failWaiters("stopped", undefined);
    this.#expiries.clear();
  }

  /**
   * Delivers encoded messages received from the transport. `sender` is the peer the transport
   * authenticated (its certificate's node ID): a message claiming to be from anyone else is
   * dropped, so one manager's certificate cannot vote, append or propose as another.
   */
  receive(msgs: Uint8Array[], sender?: string): void {
    if (this.#stopped) return;
    let forged = 0;
    let claimed = "";
    for (const b of msgs) {
      let m: Message;
      try {
        m = decodeMessage(b);
      } catch (err) {
        this.#o.onError(err);
        continue;
      }
      if (sender !== undefined && m.from !== sender) {
        forged++;
        claimed = m.from;
        continue;
      }
      try {
        this.#core.step(m);
      } catch (err) {
        // A message the core refuses (e.g. a local-only type from a confused peer) is dropped.
        this.#o.onError(err);
      }
    }
    if (forged > 0) {
      this.#o.onError(
        new Error(
          `dropped ${forged} Raft message(s) claiming to be from "${claimed}" on the connection of "${sender}"`,
        ),
      );
    }
    this.#kick();
  }

  /** The transport could not deliver to `peer`. */
  reportUnreachable(peer: string): void {
    if (this.#stopped) return;
    this.#core.reportUnreachable(peer);
    this.#kick();
  }

  /**
   * Replicates `command` and resolves with the state machine's result once it is applied here.
   * Followers forward to the leader. Rejects with UnavailableError when no leader is known,
   * ResourceExhaustedError when too many proposals are queued or uncommitted, and
   * DeadlineExceededError when the outcome is unknown after the timeout (it may still apply).
   *
   * Proposals made while the loop is busy (persisting the previous Ready) are queued and handed
   * to the core together on its next pass, as one proposal of many entries: one append and one
   * MsgApp per follower for the lot. Each caller still gets its own command's result; when the
   * core refuses a batch, every caller in it gets the error.
   */
  propose(command: Uint8Array): Promise<unknown> {
    this.#assertRunning();
    if (this.#queued.length >= this.#o.maxQueuedProposals) {
      return Promise.reject(
        new ResourceExhaustedError(
          `${this.#queued.length} raft proposals are queued already; retry later`,
        ),
      );
    }
    const seq = ++this.#seq;
    const p = this.#wait(this.#proposals, seq, "proposal");
    const data = sealEnvelope(this.id, seq, command);
    this.#queued.push({ seq, data, bytes: data.byteLength });
    this.#kick();
    return p;
  }

  /** Resolves once this node's state machine reflects every write committed before the call. */
  read(): Promise<void> {
    this.#assertRunning();
    const ctx = `${this.id}/${++this.#seq}`;
    const p = this.#wait(this.#reads, ctx, "read");
    try {
      this.#core.readIndex(ctx);
    } catch (err) {
      this.#settle(this.#reads.get(ctx)!, err);
      this.#reads.delete(ctx);
    }
    this.#kick();
    return p as Promise<void>;
  }

  /** Adds `id` as a non-voting learner reachable at `address`. */
  addLearner(id: string, address: string): Promise<unknown> {
    return this.#confChange({ type: "addLearner", nodeId: id, context: enc.encode(address) });
  }

  /** Promotes learner `id` to voter (call once it has caught up). */
  promote(id: string): Promise<unknown> {
    const addr = this.#members.address(id) ?? "";
    return this.#confChange({ type: "addNode", nodeId: id, context: enc.encode(addr) });
  }

  /** Removes `id` from the cluster. */
  removeMember(id: string): Promise<unknown> {
    return this.#confChange({ type: "removeNode", nodeId: id, context: new Uint8Array() });
  }

  /** Asks the leader to hand leadership to `id`. */
  transferLeader(id: string): void {
    this.#assertRunning();
    this.#proposeQueued(); // proposals are refused once a transfer starts
    this.#core.transferLeader(id);
    this.#kick();
  }

  /** Calls `fn` whenever the leader or term changes; returns an unsubscribe function. */
  onLeaderChange(fn: (l: LeaderInfo) => void): () => void {
    this.#leaderListeners.add(fn);
    return () => this.#leaderListeners.delete(fn);
  }

  /**
   * Resolves with the error that made this node give up (its storage failed, or its state
   * machine cannot apply a committed entry: a HaltingError); it then applies nothing more and
   * refuses every call. Never settles for a node that stops normally.
   */
  get failed(): Promise<unknown> {
    return this.#failed.promise;
  }

  /** The error that made this node give up (see {@link RaftNode.failed}), if it did. */
  get failure(): unknown {
    return this.#fatal;
  }

  /** Current leadership. */
  get leader(): LeaderInfo {
    return this.#lead;
  }

  /** Index of the last command applied to the state machine. */
  get appliedIndex(): number {
    return this.#applied;
  }

  /**
   * The members of the configuration in effect (voters and learners, this node too when it is
   * one) with their addresses ("" when none is known).
   */
  get members(): Record<string, string> {
    return this.#members.toRecord();
  }

  /** The core's status (term, commit, progress of followers when leader). */
  status(): Status {
    return this.#core.status();
  }

  /** Throws NotLeaderError unless this node leads (for callers that must run on the leader). */
  assertLeader(): void {
    if (!this.#lead.isLeader) throw new NotLeaderError(this.#lead.leaderId || undefined);
  }

  // ---- internals ----

  #confChange(cc: ConfChange): Promise<unknown> {
    this.#assertRunning();
    this.#proposeQueued(); // keep call order: earlier proposals first
    const seq = ++this.#seq;
    const p = this.#wait(this.#proposals, seq, "membership change");
    try {
      // The envelope rides in the context so the proposer can be told when it applies.
      this.#core.proposeConfChange({ ...cc, context: sealEnvelope(this.id, seq, cc.context) });
    } catch (err) {
      this.#settle(this.#proposals.get(seq)!, err);
      this.#proposals.delete(seq);
    }
    this.#kick();
    return p;
  }

  #assertRunning(): void {
    if (this.#fatal) throw new UnavailableError("raft node failed", { cause: this.#fatal });
    if (this.#stopped || !this.#running) throw new UnavailableError("raft node is not running");
  }

  #wait<K>(map: Map<K, Waiter>, key: K, what: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const expiry = this.#expiries.add(() => {
        map.delete(key);
        reject(
          new DeadlineExceededError(
            `${what} not confirmed within ${this.#o.requestTimeoutMs} ms (leader ${
              this.#lead.leaderId || "unknown"
            }); its outcome is unknown`,
          ),
        );
      });
      map.set(key, { resolve, reject, expiry });
    });
  }

  #settle(w: Waiter, err: unknown, value?: unknown): void {
    w.expiry.cancel();
    if (err === undefined) w.resolve(value);
    else w.reject(err);
  }

  #kick(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /**
   * Hands the queued proposals to the core, in order, in batches of about
   * {@link MAX_PROPOSAL_BATCH_BYTES}, failing the callers of a batch the core refuses.
   */
  #proposeQueued(): void {
    const q = this.#queued;
    if (q.length === 0) return;
    this.#queued = [];
    for (let i = 0; i < q.length;) {
      let j = i;
      let bytes = 0;
      while (j < q.length && (j === i || bytes + q[j].bytes <= MAX_PROPOSAL_BATCH_BYTES)) {
        bytes += q[j++].bytes;
      }
      const batch = q.slice(i, j);
      i = j;
      // A caller that timed out meanwhile is gone from #proposals: do not replicate its command.
      const live = batch.filter((b) => this.#proposals.has(b.seq));
      try {
        this.#core.proposeMany(live.map((b) => b.data));
        // A follower forwards: if that leader is gone, nothing will answer (#failForwarded).
        const st = this.#core.status();
        if (st.role !== "leader") {
          for (const b of live) {
            const w = this.#proposals.get(b.seq);
            if (w) w.forwardedInTerm = st.term;
          }
        }
      } catch (err) {
        for (const b of live) {
          const w = this.#proposals.get(b.seq);
          if (!w) continue;
          this.#proposals.delete(b.seq);
          this.#settle(w, err);
        }
      }
    }
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      this.#proposeQueued();
      if (!this.#core.hasReady()) {
        await new Promise<void>((r) => (this.#wake = r));
        continue;
      }
      try {
        await this.#handleReady(this.#core.ready());
      } catch (err) {
        // Storage failed (continuing could ack what is not durable), or the state machine
        // cannot apply a committed entry (a HaltingError: skipping it would diverge). Stop the
        // node, answer its callers now (not at their timeout) and stop claiming to lead, so the
        // orchestrator and dispatcher on this manager stand down while the others elect a leader.
        this.#fatal = err;
        this.#failed.resolve(err);
        this.#o.onError(err);
        this.#stopped = true;
        clearInterval(this.#ticker);
        this.#failWaiters("failed", err);
        this.#setLeader({ leaderId: "", term: this.#lead.term, isLeader: false });
      }
    }
  }

  /**
   * Fails every waiting caller. A proposal the core has taken may still commit (followers may
   * hold it already): its caller is told the outcome is unknown, which clients do not repeat on
   * another manager as they do UNAVAILABLE, so a retry cannot apply it twice. Proposals still
   * queued and reads changed nothing: UNAVAILABLE, safe to retry anywhere.
   */
  #failWaiters(what: "stopped" | "failed", cause: unknown): void {
    const unavailable = new UnavailableError(`raft node ${what}`, { cause });
    const unknown = new DeadlineExceededError(
      `raft node ${what} before this change was confirmed; its outcome is unknown`,
      { cause },
    );
    const queued = new Set(this.#queued.map((q) => q.seq));
    this.#queued = [];
    for (const [seq, w] of this.#proposals) {
      this.#settle(w, queued.has(seq) ? unavailable : unknown);
    }
    for (const w of this.#reads.values()) this.#settle(w, unavailable);
    for (const r of this.#readsAtIndex) this.#settle(r.w, unavailable);
    this.#proposals.clear();
    this.#reads.clear();
    this.#readsAtIndex = [];
  }

  async #handleReady(rd: Ready): Promise<void> {
    const st = this.#o.storage;
    // 0. A leader replicates while it writes its own log (thesis §10.2.1; parallel_append.ts
    // says which messages may go early and why that is safe with this serial loop).
    let later = rd.messages;
    if (this.#o.parallelLeaderAppend) {
      const { early, afterPersist } = splitEarlyMessages(rd, this.#hard);
      for (const m of early) this.#o.transport.send(m.to, encodeMessage(m));
      later = afterPersist;
    }
    // 1. Persist: snapshot, then entries and hard state.
    if (rd.snapshot) await st.applySnapshot(rd.snapshot);
    if (rd.hardState) this.#pendingHard = this.#hard = rd.hardState;
    // A hard state whose only change is the commit index need not be durable before anything
    // (a restarted node relearns commit from the leader), so it rides along with the next write
    // instead of costing a commit of its own: one storage write per proposal, not two.
    if (rd.entries.length > 0 || (this.#pendingHard && rd.mustSync)) {
      await st.persist({ entries: rd.entries, hardState: this.#pendingHard });
      this.#pendingHard = undefined;
    }
    // 2. Send.
    for (const m of later) this.#o.transport.send(m.to, encodeMessage(m));
    // 3. Apply.
    if (rd.snapshot) this.#restore(rd.snapshot);
    for (const e of rd.committedEntries) this.#apply(e);
    if (rd.softState || rd.hardState) this.#noteLeader();
    // 4. Reads.
    for (const rs of rd.readStates) {
      const w = this.#reads.get(rs.context);
      if (!w) continue;
      this.#reads.delete(rs.context);
      this.#readsAtIndex.push({ index: rs.index, w });
    }
    this.#serveReads();
    // 5. Advance: the core applies the membership changes; the member list and the transport
    // follow (a snapshot's configuration replaced the old one when the core received it).
    this.#core.advance(rd);
    if (rd.snapshot || rd.committedEntries.some((e) => e.type === "confChange")) {
      this.#members.sync(this.#core.confState());
    }
    await this.#maybeSnapshot();
  }

  #apply(e: Entry): void {
    if (e.index <= this.#applied) return;
    if (e.type === "confChange") {
      this.#applied = e.index;
      const cc = decodeConfChange(e.data);
      const env = openEnvelope(cc.context);
      // The core applies the change in advance(); the member list follows it there.
      if (cc.type !== "removeNode") {
        this.#members.learn(cc.nodeId, env ? dec.decode(env.payload) : "");
      }
      if (env?.proposer === this.id) this.#resolveProposal(env.seq, undefined);
      return;
    }
    const env = openEnvelope(e.data);
    if (!env) {
      this.#applied = e.index; // the leader's no-op
      return;
    }
    let result: unknown;
    let error: unknown;
    try {
      result = this.#o.stateMachine.apply(env.payload, e.index);
    } catch (err) {
      // This node cannot apply it: stop here (#loop), neither skipping it nor answering. The
      // applied index stays at the entry before: the state does not hold this one.
      if (isHaltingError(err)) throw err;
      // A deterministic rejection (e.g. a name taken): every node rejects alike.
      error = err;
    }
    this.#applied = e.index;
    if (env.proposer === this.id) this.#resolveProposal(env.seq, error, result);
  }

  #resolveProposal(seq: number, err: unknown, value?: unknown): void {
    const w = this.#proposals.get(seq);
    if (!w) return;
    this.#proposals.delete(seq);
    this.#settle(w, err, value);
  }

  #serveReads(): void {
    if (this.#readsAtIndex.length === 0) return;
    const waiting: { index: number; w: Waiter }[] = [];
    for (const r of this.#readsAtIndex) {
      if (r.index <= this.#applied) this.#settle(r.w, undefined);
      else waiting.push(r);
    }
    this.#readsAtIndex = waiting;
  }

  #restore(snap: Snapshot): void {
    const { members, app } = unpackSnapshot(snap.data);
    // Addresses only: who is a member is the snapshot's ConfState, which the core holds.
    this.#members.learnSnapshot(members);
    this.#o.stateMachine.restore(app, snap.meta.index);
    this.#applied = Math.max(this.#applied, snap.meta.index);
    this.#snapshotIndex = snap.meta.index;
  }

  #noteLeader(): void {
    const st = this.#core.status();
    const next = { leaderId: st.lead, term: st.term, isLeader: st.role === "leader" };
    if (this.#setLeader(next) && next.leaderId !== "") {
      this.#reissueReads();
      this.#failForwarded(next.term);
    }
  }

  /**
   * Fails, as of unknown outcome, the proposals this node forwarded as a follower in a term
   * before `term`, once a leader of `term` is known. The leader they went to may have died
   * before appending them (then nothing ever answers, and the caller would wait out its whole
   * timeout although a new leader took over in a fraction of that), or may have replicated them
   * (then they may still commit). Either way their outcome is unknown: the caller hears so now
   * and repeats with its request ID, which the state machine answers once. Proposing them again
   * here could apply a command twice.
   */
  #failForwarded(term: number): void {
    for (const [seq, w] of this.#proposals) {
      if (w.forwardedInTerm === undefined || w.forwardedInTerm >= term) continue;
      this.#proposals.delete(seq);
      this.#settle(
        w,
        new DeadlineExceededError(
          `leader changed (term ${w.forwardedInTerm} to ${term}) before this proposal was confirmed; its outcome is unknown`,
        ),
      );
    }
  }

  /**
   * Asks again for the reads not confirmed yet once a new leader is known: the old leader
   * dropped those it held (or never got them), and nothing else would answer them before
   * their timeout. A read confirmed twice is served at the first (#reads forgets it then).
   */
  #reissueReads(): void {
    for (const [ctx, w] of this.#reads) {
      try {
        this.#core.readIndex(ctx);
      } catch (err) {
        this.#reads.delete(ctx);
        this.#settle(w, err);
      }
    }
  }

  /** Records and announces a change of leadership; false when nothing changed. */
  #setLeader(next: LeaderInfo): boolean {
    if (
      next.leaderId === this.#lead.leaderId && next.term === this.#lead.term &&
      next.isLeader === this.#lead.isLeader
    ) return false;
    this.#lead = next;
    for (const fn of this.#leaderListeners) {
      try {
        fn(next);
      } catch (err) {
        this.#o.onError(err);
      }
    }
    return true;
  }

  async #maybeSnapshot(): Promise<void> {
    if (this.#applied - this.#snapshotIndex < this.#o.snapshotEveryEntries) return;
    const st = this.#o.storage;
    const index = this.#applied;
    const data = packSnapshot(this.members, this.#o.stateMachine.snapshot());
    // The commit index that let these entries apply may still be a pending commit-only change.
    // A snapshot past the durable commit would be applied state the restarted core does not
    // know as committed ("applied beyond commit": the node could not start): write it first.
    if (this.#pendingHard) {
      await st.persist({ entries: [], hardState: this.#pendingHard });
      this.#pendingHard = undefined;
    }
    await st.createSnapshot(index, this.#core.confState(), data);
    this.#snapshotIndex = index;
    const compactTo = index - this.#o.keepEntriesAfterSnapshot;
    if (compactTo >= st.firstIndex()) await st.compact(compactTo);
  }
}

/** Largest batch of queued proposals handed to the core as one (the core's MsgApp size). */
const MAX_PROPOSAL_BATCH_BYTES = 1 << 20;

const enc = new TextEncoder();
const dec = new TextDecoder();
