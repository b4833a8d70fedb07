/**
 * The reconcile loops on the leader (after swarmkit): a full pass when this manager becomes
 * leader, then passes over what changed (store events mark services dirty), at most one every
 * `tickMs`: a change after a quiet spell starts a pass at once, changes during or soon after a
 * pass wait for the next slot and are batched into it. Each pass: node health → per-service decisions (replicated, global, restart, rolling
 * update; pure functions) → Raft commands → scheduling of unplaced tasks through the plan
 * applier → task history reaping. This loop is the single writer of placements.
 * @module
 */
import type { Service, Task } from "../../proto/schema/mod.ts";
import { isTerminal } from "../../proto/schema/mod.ts";
import { logger } from "../../proto/log.ts";
import type { ApiContext } from "../api/context.ts";
import { write } from "../api/context.ts";
import type { ClusterState } from "../state/fsm_state.ts";
import { tasksOfService } from "../state/fsm_state.ts";
import type { Command, TaskChange } from "../state/commands.ts";
import {
  checkPlan,
  schedule,
  snapshotFromState,
  type Strategy,
  type VolumeBinding,
  xoshiro128,
} from "../scheduler/mod.ts";
import { ClusterView } from "../scheduler/cluster_view.ts";
import { type Actions, mergeActions, noActions } from "./actions.ts";
import { type NodeFacts, reconcileReplicated } from "./replicated.ts";
import { reconcileGlobal } from "./global.ts";
import { reconcileUpdate, type UpdatePacing } from "./update.ts";
import { tasksToReap } from "./reaper.ts";
import { globalEligibleNodes, globalPausedNodes } from "./eligibility.ts";
import { nodesToMarkDown } from "./node_health.ts";
import { nodeFacts } from "./node_facts.ts";
import { placementSnapshot } from "./placement_snapshot.ts";
import { newTasks } from "./new_task.ts";

/** Options of the {@link Orchestrator}. */
export interface OrchestratorOptions {
  /** Least time between the starts of two reconcile passes (their batching window). Default 50 ms. */
  tickMs?: number;
  /** A node silent for this long is marked down. Default 10 s. */
  nodeDownAfterMs?: number;
  /** Finished tasks kept per slot. Default 5. */
  historyPerSlot?: number;
  /** Placement strategy. Default spread. */
  strategy?: Strategy;
  /** When a node last heartbeated on this leader (from the dispatcher). */
  lastSeen: (nodeId: string) => number | undefined;
  /** Seed of the scheduler's tie-breaking. */
  seed?: number;
}

const CHUNK = 1000;

/** Runs the reconcile loops while this manager leads. */
export class Orchestrator {
  readonly #ctx: ApiContext;
  readonly #o: Required<Omit<OrchestratorOptions, "seed">>;
  readonly #rand;
  readonly #log = logger("orchestrator");
  #active = false;
  #leaderSince = 0;
  #dirtyAll = true;
  readonly #dirty = new Set<string>();
  #placementsDirty = true;
  #wakeAt = Infinity;
  #running = false;
  #lastReap = 0;
  readonly #pacing = new Map<string, UpdatePacing>();
  #timer: ReturnType<typeof setInterval> | undefined;
  /** A pass asked for by a change, waiting for its slot. */
  #kickTimer: ReturnType<typeof setTimeout> | undefined;
  #lastPassAt = -Infinity;
  /** Every worker was silent at the last health check (see {@link nodesToMarkDown}). */
  #inMassSilence = false;
  #silenceEndedAt = -Infinity;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(ctx: ApiContext, opts: OrchestratorOptions) {
    this.#ctx = ctx;
    this.#o = {
      tickMs: opts.tickMs ?? 50,
      nodeDownAfterMs: opts.nodeDownAfterMs ?? 10_000,
      historyPerSlot: opts.historyPerSlot ?? 5,
      strategy: opts.strategy ?? "spread",
      lastSeen: opts.lastSeen,
    };
    this.#rand = xoshiro128(opts.seed ?? 0x5eed);
  }

  /** Follows leadership: active while this manager leads. */
  start(): void {
    this.#unsubscribe.push(this.#ctx.raft.onLeaderChange((l) => this.#setActive(l.isLeader)));
    this.#unsubscribe.push(this.#ctx.store.onApplied((_i, changes) => {
      this.#kick();
      for (const c of changes) {
        if (c.kind === "service") this.#dirty.add(c.service.id);
        else if (c.kind === "task") {
          // Steps between assigned and running change no decision (a task is live and not yet
          // running either way); skipping them spares a reconcile of the whole service per
          // status report while thousands of tasks start.
          if (!isStarting(c.task) || c.action !== "update") this.#dirty.add(c.task.serviceId);
          if (c.task.nodeId === undefined || c.task.status.state === "pending") {
            this.#placementsDirty = true;
          }
          if (isTerminal(c.task.status.state)) this.#placementsDirty = true;
        } else if (c.kind === "node" || c.kind === "volume") {
          this.#dirtyAll = true;
          this.#placementsDirty = true;
        }
      }
    }));
    this.#setActive(this.#ctx.raft.leader.isLeader);
    this.#timer = setInterval(() => void this.#tick(), this.#o.tickMs);
  }

  /** Stops the loop. */
  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#kickTimer);
    this.#kickTimer = undefined;
    for (const u of this.#unsubscribe) u();
    this.#active = false;
  }

  /** Runs one pass now (tests use this to step deterministically). */
  async runPass(): Promise<void> {
    await this.#pass();
  }

  #setActive(leader: boolean): void {
    if (leader && !this.#active) {
      this.#leaderSince = this.#ctx.now();
      this.#dirtyAll = true;
      this.#placementsDirty = true;
    }
    this.#active = leader;
  }

  /**
   * Starts a pass for a change as soon as the pass rate allows: at once after a quiet spell
   * (a created service's tasks need not wait out a tick), else at the next slot. The interval
   * stays for what time alone makes due (wake-ups, node health, reaping).
   */
  #kick(): void {
    if (!this.#active || this.#kickTimer !== undefined) return;
    const wait = Math.max(0, this.#lastPassAt + this.#o.tickMs - this.#ctx.now());
    this.#kickTimer = setTimeout(() => {
      this.#kickTimer = undefined;
      void this.#tick();
    }, wait);
  }

  async #tick(): Promise<void> {
    if (!this.#active || this.#running) return;
    const now = this.#ctx.now();
    const changed = this.#dirtyAll || this.#dirty.size > 0 || this.#placementsDirty;
    if (!changed && now < this.#wakeAt && now - this.#lastReap <= 1000) return;
    if (now - this.#lastPassAt < this.#o.tickMs) return this.#kick(); // not before its slot
    try {
      await this.#pass();
    } catch (err) {
      this.#log.warn("reconcile pass failed; retrying", { err });
      this.#dirtyAll = true;
    }
    // What changed during the pass (its own writes included) gets the next slot.
    if (this.#dirtyAll || this.#dirty.size > 0 || this.#placementsDirty) this.#kick();
  }

  async #pass(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      const now = this.#ctx.now();
      this.#lastPassAt = now;
      await this.#nodeHealth(now);
      const s = this.#ctx.store.state as ClusterState;
      const full = this.#dirtyAll || now >= this.#wakeAt;
      const ids = full ? [...s.services.keys()] : [...this.#dirty];
      this.#dirtyAll = false;
      this.#dirty.clear();
      // Only a full pass re-derives every delayed decision; a partial one keeps the wake-ups
      // of the services it does not look at (a disconnect grace, a restart delay).
      if (full) this.#wakeAt = Infinity;
      const actions = noActions();
      const view = new ClusterView(snapshotFromState(s));
      const facts = nodeFacts(s, view, {
        nodeDownAfterMs: this.#o.nodeDownAfterMs,
        wake: (at) => (this.#wakeAt = Math.min(this.#wakeAt, at)),
      });
      for (const id of ids) {
        const sv = s.services.get(id);
        if (!sv) {
          this.#pacing.delete(id); // a deleted service: its rollout pacing goes with it
          continue;
        }
        mergeActions(
          actions,
          await this.#reconcileService(sv, tasksOfService(s, id), view, facts, now),
        );
      }
      if (actions.wakeAt !== undefined) this.#wakeAt = Math.min(this.#wakeAt, actions.wakeAt);
      await this.#apply(actions, now);
      if (this.#placementsDirty) {
        this.#placementsDirty = false;
        await this.#placeTasks(now);
      }
      if (now - this.#lastReap > 1000) {
        this.#lastReap = now;
        const st = this.#ctx.store.state;
        const reap = tasksToReap(
          [...st.tasks.values()],
          this.#o.historyPerSlot,
          (id) => st.services.has(id),
          (id) => st.services.get(id)?.spec.restartPolicy.maxAttempts ?? 0,
          (id) => st.nodes.has(id),
        );
        await this.#writeChunks(reap, (ids) => ({ kind: "task.delete", at: now, ids }));
      }
    } finally {
      this.#running = false;
    }
  }

  async #reconcileService(
    sv: Service,
    tasks: Task[],
    view: ClusterView,
    facts: NodeFacts,
    now: number,
  ): Promise<Actions> {
    const eligible = sv.spec.mode === "global" ? globalEligibleNodes(view, sv) : undefined;
    let pacing = this.#pacing.get(sv.id);
    if (!pacing) this.#pacing.set(sv.id, pacing = { lastBatchAt: 0 });
    const step = reconcileUpdate(sv, tasks, pacing, now, { eligible, nodes: facts });
    if (step.rollback) {
      this.#log.warn("update failed; rolling back", {
        service: sv.spec.name,
        why: step.status?.message,
      });
      // Without exclusivePorts: a refused automatic rollback would be retried on every pass and
      // the failed update never settle. The cost, a known gap: a port the previous spec had and
      // another service took during the failed update is then published by both.
      await write(this.#ctx, {
        kind: "service.rollback",
        at: now,
        id: sv.id,
        keepsUnchangedTasks: true,
      });
    }
    if (step.status) {
      await write(this.#ctx, {
        kind: "service.updateStatus",
        at: now,
        id: sv.id,
        updateStatus: step.status,
      });
    }
    if (step.rollback) return noActions(); // the next pass works from the rolled-back spec
    return mergeActions(
      step.actions,
      eligible
        ? reconcileGlobal(sv, tasks, eligible, now, globalPausedNodes(view, sv))
        : reconcileReplicated(sv, tasks, facts, now),
    );
  }

  async #nodeHealth(now: number): Promise<void> {
    const s = this.#ctx.store.state;
    const verdict = nodesToMarkDown({
      nodes: [...s.nodes.values()],
      lastSeen: this.#o.lastSeen,
      now,
      // After a mass silence, as after a new leader, every node has a full period to be heard.
      leaderSince: Math.max(this.#leaderSince, this.#silenceEndedAt),
      downAfterMs: this.#o.nodeDownAfterMs,
    });
    if (!verdict.massSilence && this.#inMassSilence) {
      // The first workers are heard again. The others reconnect a moment later: marking them
      // down now (they are no longer *all* silent) would reschedule their tasks needlessly.
      this.#inMassSilence = false;
      this.#silenceEndedAt = now;
      return;
    }
    this.#inMassSilence = verdict.massSilence !== undefined;
    if (verdict.massSilence) {
      this.#log.warn(
        "every worker went silent at once: treating it as a manager-side problem, not marking nodes down",
        {
          nodes: verdict.massSilence,
        },
      );
    }
    for (const n of verdict.down) {
      await write(this.#ctx, {
        kind: "node.status",
        at: now,
        id: n.id,
        status: {
          ...n.status,
          state: "down",
          // Heartbeats stay in the leader's memory: record the last one here, so that the
          // disconnect grace (counted from lastHeartbeatAt + down period) starts now, not from
          // the node's registration.
          lastHeartbeatAt: n.lastSeen,
          message: `no heartbeat for ${Math.round((now - n.lastSeen) / 1000)} s`,
        },
      });
    }
  }

  async #apply(a: Actions, now: number): Promise<void> {
    const changes: TaskChange[] = a.desired.map((d) => ({
      id: d.taskId,
      desiredState: d.desiredState,
    }));
    await this.#writeChunks(changes, (c) => ({ kind: "task.update", at: now, changes: c }));
    const tasks = newTasks(a.create, {
      state: this.#ctx.store.state,
      now,
      newId: () => this.#ctx.newId(),
    });
    await this.#writeChunks(tasks, (t) => ({ kind: "task.create", at: now, tasks: t }));
    if (tasks.length > 0) this.#placementsDirty = true;
  }

  /** Schedules every unplaced task and applies the plan after re-checking it (single writer). */
  async #placeTasks(now: number): Promise<void> {
    const s = this.#ctx.store.state as ClusterState;
    const place = [];
    for (const t of s.tasks.values()) {
      if (t.desiredState !== "running") continue;
      if (t.status.state !== "pending" && t.status.state !== "new") continue;
      place.push({ taskId: t.id, serviceId: t.serviceId, slot: t.slot, nodeId: t.nodeId });
    }
    if (place.length === 0) return;
    const plan = schedule(placementSnapshot(s), { place }, {
      now,
      rand: this.#rand,
      strategy: this.#o.strategy,
    });
    // Re-check against the latest committed state right before writing: nothing else writes
    // placements, but statuses and nodes may have moved since the snapshot.
    const checked = checkPlan(plan, placementSnapshot(this.#ctx.store.state as ClusterState));
    // Bindings first: a placement must not commit without the volume pinned to its node.
    const unbound = await this.#bindVolumes(checked.plan.volumeBindings, now);
    const latest = this.#ctx.store.state;
    const changes: TaskChange[] = [];
    for (const p of checked.plan.place) {
      const t = latest.tasks.get(p.taskId);
      if (!t) continue;
      if (unbound.size > 0 && mountsAny(latest.services.get(p.serviceId), unbound)) {
        this.#placementsDirty = true; // scheduled again next pass, against the new bindings
        continue;
      }
      changes.push({
        id: p.taskId,
        nodeId: p.nodeId,
        status: { ...t.status, state: "assigned", message: "", timestamp: now },
      });
    }
    const pending = [
      ...checked.plan.pending,
      ...checked.rejected.map((r) => ({ taskId: r.taskId, reason: r.reason })),
    ];
    for (const p of pending) {
      const t = latest.tasks.get(p.taskId);
      if (!t || t.status.message === p.reason) continue;
      changes.push({
        id: p.taskId,
        status: { ...t.status, state: "pending", message: p.reason, timestamp: now },
      });
    }
    await this.#writeChunks(changes, (c) => ({ kind: "task.update", at: now, changes: c }));
    if (checked.rejected.length > 0) this.#placementsDirty = true;
  }

  /**
   * Writes `items` as commands of at most CHUNK items, all proposed at once: Raft pipelines
   * them (one commit wait instead of one per chunk). The chunks are independent of each other.
   */
  async #writeChunks<T>(items: readonly T[], cmd: (chunk: T[]) => Command): Promise<void> {
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < items.length; i += CHUNK) {
      writes.push(write(this.#ctx, cmd(items.slice(i, i + CHUNK))));
    }
    await Promise.all(writes);
  }

  /**
   * Records the plan's volume bindings: an unbound volume is bound to the node its first task
   * landed on (`volume.bind`); a volume mounted without a record gets one on that node
   * (`volume.create`). Returns the names that could not be bound (e.g. created or bound
   * concurrently): their placements wait for the next pass.
   */
  async #bindVolumes(bindings: readonly VolumeBinding[], now: number): Promise<Set<string>> {
    const failed = new Set<string>();
    for (const b of bindings) {
      try {
        if (b.volumeId !== undefined) {
          await write(this.#ctx, {
            kind: "volume.bind",
            at: now,
            id: b.volumeId,
            nodeId: b.nodeId,
          });
        } else {
          await write(this.#ctx, {
            kind: "volume.create",
            at: now,
            volume: {
              id: this.#ctx.newId(),
              name: b.volumeName,
              driver: "local",
              nodeId: b.nodeId,
              options: {},
              labels: {},
              createdAt: now,
              updatedAt: now,
            },
          });
        }
      } catch (err) {
        this.#log.warn("cannot bind a volume; its tasks wait for the next pass", {
          volume: b.volumeName,
          node: b.nodeId,
          err,
        });
        failed.add(b.volumeName);
      }
    }
    return failed;
  }
}

const STARTING = new Set(["assigned", "accepted", "preparing", "starting"]);

/** A task on its way to running, still meant to run. */
function isStarting(t: Task): boolean {
  return t.desiredState === "running" && STARTING.has(t.status.state);
}

/** Whether `service` mounts one of the volumes named in `names`. */
function mountsAny(service: Service | undefined, names: ReadonlySet<string>): boolean {
  return service?.spec.mounts.some((m) =>
    m.type === "volume" && m.source !== undefined && names.has(m.source)
  ) ?? false;
}
