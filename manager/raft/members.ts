/**
 * The Raft shell's member list: the configuration the core has in effect (voters and learners),
 * each with the address other managers reach it at, and the transport's peers kept in step.
 *
 * The core owns the configuration: it replaces it wholesale with a snapshot's ConfState when it
 * installs one and applies the conf-change entries after it in log order (thesis §4, §5.1 of the
 * snapshot chapter). The shell only adds addresses, learned from the same places (the snapshot's
 * member map, each conf-change entry's context), and calls {@link Members.sync} once the core has
 * moved: the member list is then exactly the core's configuration, never a union of every
 * configuration seen, so a manager removed before a snapshot is gone after installing it.
 *
 * A joining node is not in the configuration of a snapshot taken before its addition, and the
 * leader sending it may not be either (a leader whose own latest snapshot predates its
 * addition). So the peers it was told of at start (the join answer's managers) stay transport
 * peers until the configuration names them; from then on the configuration alone decides, and
 * one that leaves it is dropped.
 * @module
 */
import type { ConfState } from "./core/types.ts";

/** The transport side the member list drives (a subset of RaftTransport). */
export interface PeerSink {
  setPeer(id: string, address: string): void;
  removePeer(id: string): void;
}

/** Configuration members with addresses, and the transport peers that follow from them. */
export class Members {
  readonly #selfId: string;
  readonly #selfAddress: string;
  readonly #transport: PeerSink;
  /** Configuration members (self included when a member) → address ("" when unknown). */
  #members = new Map<string, string>();
  /** Peers known out of band that the configuration has not named yet. */
  readonly #bootstrap = new Map<string, string>();
  /** Addresses learned since the last sync, latest last (they win over older knowledge). */
  #learned = new Map<string, string>();
  /** What the transport was last told. */
  readonly #peers = new Map<string, string>();

  constructor(
    opts: {
      selfId: string;
      selfAddress: string;
      transport: PeerSink;
      peers?: Record<string, string>;
    },
  ) {
    this.#selfId = opts.selfId;
    this.#selfAddress = opts.selfAddress;
    this.#transport = opts.transport;
    for (const [id, addr] of Object.entries(opts.peers ?? {})) {
      if (id !== opts.selfId && addr) this.#bootstrap.set(id, addr);
    }
  }

  /**
   * A snapshot is being installed: its member map is the address book as of its index, replacing
   * what was learned before it (entries the snapshot covers are older).
   */
  learnSnapshot(addresses: Record<string, string>): void {
    this.#learned = new Map(Object.entries(addresses).filter(([, addr]) => addr !== ""));
  }

  /** A conf-change entry named `id` at `address` (empty: none given). */
  learn(id: string, address: string): void {
    if (address === "") return;
    this.#learned.delete(id); // re-inserted last: the latest entry wins
    this.#learned.set(id, address);
  }

  /**
   * Makes the member list exactly `conf` (the core's configuration now), with the addresses
   * learned since the last call winning over older ones, and brings the transport in step:
   * peers that left are removed, new ones added, moved ones updated.
   */
  sync(conf: ConfState): void {
    const next = new Map<string, string>();
    for (const id of [...conf.voters, ...conf.learners]) {
      const addr = id === this.#selfId
        ? this.#selfAddress
        : this.#learned.get(id) ?? this.#members.get(id) ?? this.#bootstrap.get(id) ?? "";
      next.set(id, addr);
      // Named by the configuration: it alone decides about this peer from now on.
      this.#bootstrap.delete(id);
    }
    this.#members = next;
    this.#learned = new Map();
    const want = new Map(this.#bootstrap);
    for (const [id, addr] of next) want.set(id, addr);
    want.delete(this.#selfId);
    for (const id of [...this.#peers.keys()]) {
      if (want.get(id)) continue;
      this.#peers.delete(id);
      this.#transport.removePeer(id);
    }
    for (const [id, addr] of want) {
      if (addr === "" || this.#peers.get(id) === addr) continue;
      this.#peers.set(id, addr);
      this.#transport.setPeer(id, addr);
    }
  }

  /** The member's address ("" when unknown), or undefined for a non-member. */
  address(id: string): string | undefined {
    return this.#members.get(id);
  }

  /** Members (voters and learners) → address, as of the last {@link Members.sync}. */
  toRecord(): Record<string, string> {
    return Object.fromEntries(this.#members);
  }
}
