/**
 * Safety checkers, run as the simulation goes (after every Ready a node handles and after every
 * step). Each check states one of Raft's guarantees (Figure 3 of the paper) or a contract of the
 * shell, and throws {@link CheckFailure} the moment it is broken:
 *
 * - election safety: at most one leader per term, across all time;
 * - log matching: entries with the same index and term hold the same command and follow the same
 *   entry (checked incrementally on every append, and by comparing whole logs pairwise);
 * - leader completeness: an entry committed before a leader was elected is in its log;
 * - committed entries never change (two nodes never commit different entries at one index);
 * - state machine safety: no two applications (different nodes, or one node across restarts) apply
 *   different entries at one index, or reach different states at one index;
 * - a node's commit index never decreases while it runs, restarts at exactly the durable one, and
 *   applied ≤ committed;
 * - durability of promises: when a node sends a message, the term it carries, a vote it grants and
 *   the entries it acknowledges are already on its disk (synced), as the Ready contract requires.
 * @module
 */
import type { MemoryStorage } from "../../manager/raft/core/memory_storage.ts";
import type { Message } from "../../manager/raft/core/messages.ts";
import type { Entry, HardState, NodeId, Role, Snapshot } from "../../manager/raft/core/types.ts";

/** A broken invariant, named by the check that caught it. */
export class CheckFailure extends Error {
  readonly check: string;
  constructor(check: string, message: string) {
    super(`${check}: ${message}`);
    this.name = "CheckFailure";
    this.check = check;
  }
}

function fail(check: string, message: string): never {
  throw new CheckFailure(check, message);
}

const keyCache = new WeakMap<Entry, string>();

/** FNV-1a of an entry's type and data: entries with equal keys are (almost surely) equal. */
export function entryKey(e: Entry): string {
  let k = keyCache.get(e);
  if (k === undefined) {
    k = hashEntry(e);
    keyCache.set(e, k);
  }
  return k;
}

function hashEntry(e: Entry): string {
  let h = 0x811c9dc5;
  const d = e.data;
  for (let i = 0; i < d.length; i++) {
    h ^= d[i];
    h = Math.imul(h, 0x01000193);
  }
  return `${e.type[0]}${d.length}:${(h >>> 0).toString(36)}`;
}

/** What a node's Ready made durable, as the checkers need it. */
export interface PersistedReady {
  entries: Entry[];
  snapshot: Snapshot | undefined;
  hardState: HardState | undefined;
}

/** The checkers' memory of the whole run. */
export class Checkers {
  readonly #leaderOfTerm = new Map<number, NodeId>();
  /** Committed index → term, as learnt from every node's commit index. */
  readonly #committedTerm = new Map<number, number>();
  #committedMax = 0;
  /** "index:term" → the entry's key and the term of the entry before it. */
  readonly #entryAt = new Map<string, { key: string; prevTerm: number; node: NodeId }>();
  /** Applied index → "term:key" and the state digest after it. */
  readonly #applied = new Map<number, { entry: string; node: NodeId }>();
  readonly #digestAt = new Map<number, { digest: string; node: NodeId }>();
  /** Per node: commit index in this incarnation, and how far its commits were recorded. */
  readonly #commit = new Map<NodeId, number>();
  readonly #commitRecorded = new Map<NodeId, number>();
  /** Leaders whose log must be checked for completeness at their next persist. */
  readonly #pendingCompleteness = new Map<NodeId, { term: number; upTo: number }>();
  /** Node pair → the log versions last compared. */
  readonly #compared = new Map<string, string>();

  /** Election safety: `id` is seen in `role` at `term`. */
  observeRole(id: NodeId, term: number, role: Role): void {
    if (role !== "leader") return;
    const prev = this.#leaderOfTerm.get(term);
    if (prev === undefined) {
      this.#leaderOfTerm.set(term, id);
      this.#pendingCompleteness.set(id, { term, upTo: this.#committedMax });
    } else if (prev !== id) {
      fail("election safety", `two leaders in term ${term}: ${prev} and ${id}`);
    }
  }

  /** Number of distinct terms that had a leader. */
  get leaderTerms(): number {
    return this.#leaderOfTerm.size;
  }

  /** Highest index known committed. */
  get committedMax(): number {
    return this.#committedMax;
  }

  /** After node `id` persisted `rd` into `storage` (its page cache). */
  afterPersist(id: NodeId, storage: MemoryStorage, rd: PersistedReady): void {
    const first = storage.firstIndex(), last = storage.lastIndex();
    if (rd.snapshot) {
      const t = this.#committedTerm.get(rd.snapshot.meta.index);
      if (t !== undefined && t !== rd.snapshot.meta.term) {
        fail(
          "committed entries never change",
          `${id} installed a snapshot at ${rd.snapshot.meta.index} of term ${rd.snapshot.meta.term}, but term ${t} was committed there`,
        );
      }
    }
    this.#checkAppended(id, storage, rd.entries, first);
    if (rd.hardState) this.#recordCommits(id, storage, rd.hardState.commit, first, last);
    const pending = this.#pendingCompleteness.get(id);
    if (pending) {
      this.#pendingCompleteness.delete(id);
      for (let i = Math.max(first, 1); i <= pending.upTo; i++) {
        const t = this.#committedTerm.get(i);
        if (t === undefined) continue;
        if (i > last) {
          fail(
            "leader completeness",
            `${id} became leader of term ${pending.term} without committed entry ${i} (its log ends at ${last})`,
          );
        }
        if (storage.term(i) !== t) {
          fail(
            "leader completeness",
            `${id}, leader of term ${pending.term}, has term ${
              storage.term(i)
            } at ${i}, but term ${t} was committed there`,
          );
        }
      }
    }
  }

  #checkAppended(id: NodeId, storage: MemoryStorage, entries: Entry[], first: number): void {
    let prevTerm: number | undefined;
    for (const e of entries) {
      if (e.index < first) continue;
      if (prevTerm === undefined) prevTerm = storage.term(e.index - 1);
      const k = `${e.index}:${e.term}`;
      const key = entryKey(e);
      const seen = this.#entryAt.get(k);
      if (!seen) this.#entryAt.set(k, { key, prevTerm, node: id });
      else if (seen.key !== key) {
        fail(
          "log matching",
          `${id} and ${seen.node} hold different entries at index ${e.index}, term ${e.term}`,
        );
      } else if (seen.prevTerm !== prevTerm) {
        fail(
          "log matching",
          `entry ${e.index}/${e.term} follows term ${prevTerm} on ${id} but term ${seen.prevTerm} on ${seen.node}`,
        );
      }
      prevTerm = e.term;
    }
  }

  #recordCommits(id: NodeId, storage: MemoryStorage, commit: number, first: number, last: number) {
    const from = Math.max(this.#commitRecorded.get(id) ?? 0, first - 1) + 1;
    if (commit > last) {
      fail("commit within log", `${id} persisted commit ${commit} beyond its last index ${last}`);
    }
    for (let i = from; i <= commit; i++) {
      const t = storage.term(i);
      const prev = this.#committedTerm.get(i);
      if (prev === undefined) this.#committedTerm.set(i, t);
      else if (prev !== t) {
        fail(
          "committed entries never change",
          `${id} committed term ${t} at ${i}, term ${prev} was committed there before`,
        );
      }
    }
    if (commit > this.#committedMax) this.#committedMax = commit;
    if (commit > (this.#commitRecorded.get(id) ?? 0)) this.#commitRecorded.set(id, commit);
  }

  /**
   * Durability: node `id` sends `m` while its disk durably holds `durable`. Pre-vote messages carry
   * a term nobody persisted (thesis §9.6) and snapshot chunk acks promise nothing durable.
   */
  checkSend(
    id: NodeId,
    m: Message,
    durable: Pick<MemoryStorage, "initialState" | "lastIndex" | "snapshot">,
  ): void {
    if (m.term === 0 || m.type === "MsgPreVote" || m.type === "MsgPreVoteResp") return;
    const hs = durable.initialState().hardState;
    if (hs.term < m.term) {
      fail(
        "durability",
        `${id} sent ${m.type} of term ${m.term} to ${m.to} while its disk holds term ${hs.term}`,
      );
    }
    if (m.type === "MsgVoteResp" && !m.reject && hs.term === m.term && hs.vote !== m.to) {
      fail(
        "durability",
        `${id} granted its vote in term ${m.term} to ${m.to}, its disk says ${hs.vote || "none"}`,
      );
    }
    // An acknowledgement of an older term may refer to entries a newer leader has since truncated
    // in the same Ready; it is harmless (that entry cannot have been committed: Raft §5.4).
    if (m.type === "MsgAppResp" && !m.reject && m.term === hs.term) {
      const has = Math.max(durable.lastIndex(), durable.snapshot().meta.index);
      if (has < m.index) {
        fail(
          "durability",
          `${id} acknowledged index ${m.index} to ${m.to} while its disk holds up to ${has}`,
        );
      }
    }
  }

  /**
   * Whether the state after applying `index` should be compared: every 4th index, and any index
   * some node already recorded a state for (after a snapshot). Digests cost a serialization.
   */
  wantsDigest(index: number): boolean {
    return index % 4 === 0 || this.#digestAt.has(index);
  }

  /**
   * State machine safety: node `id` applied entry `e`, reaching state `digest` (undefined when
   * {@link wantsDigest} said no).
   */
  afterApply(id: NodeId, e: Entry, digest: string | undefined): void {
    const entry = `${e.term}:${entryKey(e)}`;
    const prev = this.#applied.get(e.index);
    if (!prev) this.#applied.set(e.index, { entry, node: id });
    else if (prev.entry !== entry) {
      fail(
        "state machine safety",
        `${id} applied ${entry} at ${e.index}, ${prev.node} applied ${prev.entry}`,
      );
    }
    if (digest !== undefined) this.#checkDigest(id, e.index, digest);
  }

  /** State machine safety: node `id` restored a snapshot at `index`, reaching state `digest`. */
  afterRestore(id: NodeId, index: number, digest: string): void {
    this.#checkDigest(id, index, digest);
  }

  #checkDigest(id: NodeId, index: number, digest: string): void {
    const prev = this.#digestAt.get(index);
    if (!prev) this.#digestAt.set(index, { digest, node: id });
    else if (prev.digest !== digest) {
      fail(
        "state machine safety",
        `${id} and ${prev.node} reached different states at index ${index}:\n  ${digest}\n  ${prev.digest}`,
      );
    }
  }

  /** After every step: commit never decreases in an incarnation; applied ≤ committed. */
  checkProgress(id: NodeId, s: { commit: number; applied: number }, appApplied: number): void {
    const prev = this.#commit.get(id) ?? 0;
    if (s.commit < prev) fail("commit monotonic", `${id} commit went from ${prev} to ${s.commit}`);
    this.#commit.set(id, s.commit);
    if (s.applied > s.commit) {
      fail("applied <= committed", `${id} applied ${s.applied} > commit ${s.commit}`);
    }
    if (appApplied > s.commit) {
      fail("applied <= committed", `${id} application applied ${appApplied} > commit ${s.commit}`);
    }
  }

  /** A node restarted: its commit must be the durable one (or its snapshot's, if newer). */
  onRestart(id: NodeId, commit: number, durableCommit: number, snapshotIndex: number): void {
    const expect = Math.max(durableCommit, snapshotIndex);
    if (commit !== expect) {
      fail(
        "commit after restart",
        `${id} restarted with commit ${commit}, its disk says ${expect}`,
      );
    }
    this.#commit.set(id, commit);
    this.#commitRecorded.set(id, Math.min(this.#commitRecorded.get(id) ?? 0, commit));
    this.#pendingCompleteness.delete(id);
  }

  /**
   * Log matching over whole logs: for every pair of nodes, the highest index where both logs have
   * the same term, and every entry of both below it, must be identical. Pairs whose logs did not
   * change (same `version`) since they were last compared are skipped.
   */
  compareLogs(nodes: readonly { id: NodeId; storage: MemoryStorage; version: number }[]): void {
    for (let a = 0; a < nodes.length; a++) {
      for (let b = a + 1; b < nodes.length; b++) {
        const pair = `${nodes[a].id}|${nodes[b].id}`;
        const versions = `${nodes[a].version}|${nodes[b].version}`;
        if (this.#compared.get(pair) === versions) continue;
        compareTwo(nodes[a], nodes[b]);
        this.#compared.set(pair, versions);
      }
    }
  }
}

function compareTwo(
  a: { id: NodeId; storage: MemoryStorage },
  b: { id: NodeId; storage: MemoryStorage },
): void {
  const lo = Math.max(a.storage.firstIndex(), b.storage.firstIndex());
  const hi = Math.min(a.storage.lastIndex(), b.storage.lastIndex());
  if (hi < lo) return;
  const ea = a.storage.entries(lo, hi + 1, Infinity);
  const eb = b.storage.entries(lo, hi + 1, Infinity);
  let top = -1;
  for (let i = ea.length - 1; i >= 0; i--) {
    if (ea[i].term === eb[i].term) {
      top = i;
      break;
    }
  }
  for (let i = 0; i <= top; i++) {
    if (ea[i].term !== eb[i].term || entryKey(ea[i]) !== entryKey(eb[i])) {
      fail(
        "log matching",
        `${a.id} and ${b.id} agree at index ${lo + top} (term ${ea[top].term}) but differ at ${
          lo + i
        }: ` +
          `term ${ea[i].term} vs ${eb[i].term}`,
      );
    }
  }
}
