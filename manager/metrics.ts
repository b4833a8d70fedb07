/**
 * The manager's Prometheus metrics: Raft position, commit latency, objects by state, API latency.
 * @module
 */
import { Gauge, Histogram, type Registry } from "../net/http/metrics.ts";
import type { ApiContext } from "./api/context.ts";

/** Registers the manager's metrics and returns the ones fed by events. */
export function registerManagerMetrics(r: Registry, ctx: ApiContext) {
  r.register(
    new Gauge("warren_raft_term", "Current Raft term.", () => [{ value: ctx.raft.leader.term }]),
  );
  r.register(
    new Gauge(
      "warren_raft_applied_index",
      "Last applied Raft index.",
      () => [{ value: ctx.raft.appliedIndex }],
    ),
  );
  r.register(
    new Gauge(
      "warren_raft_commit_index",
      "Raft commit index.",
      () => [{ value: ctx.raft.status().commit }],
    ),
  );
  r.register(
    new Gauge(
      "warren_raft_is_leader",
      "1 if this manager is the Raft leader.",
      () => [{ value: ctx.raft.leader.isLeader ? 1 : 0 }],
    ),
  );
  r.register(
    new Gauge(
      "warren_raft_has_leader",
      "1 if a Raft leader is known.",
      () => [{ value: ctx.raft.leader.leaderId ? 1 : 0 }],
    ),
  );
  r.register(
    new Gauge("warren_raft_voters", "Voting members of the Raft group.", () => [{
      value: ctx.raft.status().config.voters.length,
    }]),
  );
  const commitLatency = r.register(
    new Histogram(
      "warren_raft_commit_latency_ms",
      "Time from proposal to applied, in milliseconds.",
    ),
  );
  r.register(
    new Gauge("warren_nodes", "Nodes by role and state.", () => {
      const counts = new Map<string, number>();
      for (const n of ctx.store.state.nodes.values()) {
        const k = `${n.role}/${n.status.state}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      return [...counts].map(([k, value]) => {
        const [role, state] = k.split("/");
        return { labels: { role, state }, value };
      });
    }),
  );
  r.register(
    new Gauge("warren_services", "Services.", () => [{ value: ctx.store.state.services.size }]),
  );
  r.register(
    new Gauge("warren_tasks", "Tasks by observed state.", () => {
      const counts = new Map<string, number>();
      for (const t of ctx.store.state.tasks.values()) {
        counts.set(t.status.state, (counts.get(t.status.state) ?? 0) + 1);
      }
      return [...counts].map(([state, value]) => ({ labels: { state }, value }));
    }),
  );
  const apiLatency = r.register(
    new Histogram(
      "warren_api_request_latency_ms",
      "API request latency by method, in milliseconds.",
    ),
  );
  return { commitLatency, apiLatency };
}
