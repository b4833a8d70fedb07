/**
 * The worker: runs a node's tasks on a {@link Runtime}, talks to the managers, keeps its state
 * in Deno KV and keeps going on its own while no manager is reachable. See README.md.
 * @module
 */
export { Agent, type AgentOptions } from "./agent.ts";
export { type Clock, systemClock } from "./clock.ts";
export { containerConfig, WorkerLabels } from "./container_config.ts";
export {
  type CheckedHealth,
  type HealthState,
  initialHealth,
  observeProbe,
} from "./health_state.ts";
export { HealthMonitor, type HealthMonitorOptions } from "./health_monitor.ts";
export { makeProbe, type Probe, type ProbeResult, type ProbeTarget } from "./probes.ts";
export { startWorkerNode, type WorkerNode, type WorkerNodeOptions } from "./node.ts";
export { planReconcile, type ReconcilePlan } from "./reconcile.ts";
export { decideRestart, type RestartDecision, type StopCause } from "./restart_policy.ts";
export { SecretCache } from "./secrets.ts";
export { StatusReporter, type StatusReporterOptions } from "./status_reporter.ts";
export { type RunnerEnv, type TaskHooks, type TaskRecord, TaskRunner } from "./task_runner.ts";
export { LocalVolumes } from "./volumes.ts";
export {
  hostNetwork,
  type NetworkHooks,
  type TaskMetrics,
  Worker,
  type WorkerOptions,
  type WorkerTask,
} from "./worker.ts";
