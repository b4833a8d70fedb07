/** Wire ↔ domain mapping of ServiceSpec and its parts (private to proto/convert.ts). */
import type * as w from "./gen/warren.ts";
import type * as d from "./schema/mod.ts";
import { compact, E, type Raw, str } from "./_convert_base.ts";
import { decAmounts, encAmounts } from "./_convert_node.ts";

// ---- service spec -----------------------------------------------------------------------------

export const encServiceResources = (r: d.ServiceResources): w.ServiceResources => ({
  limits: encAmounts(r.limits),
  reservations: encAmounts(r.reservations),
});
export const decServiceResources = (x: w.ServiceResources | undefined): Raw | undefined => {
  if (!x) return undefined;
  const o: Raw = {};
  let v: unknown;
  if ((v = decAmounts(x.limits)) !== undefined) o.limits = v;
  if ((v = decAmounts(x.reservations)) !== undefined) o.reservations = v;
  return o;
};

export const encPreference = (p: d.PlacementPreference): w.PlacementPreference => ({
  spread: p.spread,
});
export const decPreference = (x: w.PlacementPreference): Raw => compact({ spread: str(x.spread) });

export const encPort = (p: d.Port): w.Port => ({
  name: p.name,
  protocol: E.PortProtocol.toWire(p.protocol),
  target: p.target,
  published: p.published,
  publishMode: E.PublishMode.toWire(p.publishMode),
});
export const decPort = (x: w.Port): Raw =>
  compact({
    name: x.name,
    protocol: E.PortProtocol.fromWire(x.protocol),
    target: x.target,
    published: x.published,
    publishMode: E.PublishMode.fromWire(x.publishMode),
  });

export const encSecretRef = (r: d.SecretRef): w.SecretRef => ({
  secret: r.secret,
  target: r.target,
  mode: r.mode,
});
export const decSecretRef = (x: w.SecretRef): Raw =>
  compact({ secret: str(x.secret), target: str(x.target), mode: x.mode });

export const encMount = (m: d.Mount): w.Mount => ({
  type: E.MountType.toWire(m.type),
  source: m.source,
  target: m.target,
  readOnly: m.readOnly,
});
export const decMount = (x: w.Mount): Raw =>
  compact({
    type: E.MountType.fromWire(x.type),
    source: x.source,
    target: str(x.target),
    readOnly: x.readOnly,
  });

export const encHttp = (h: d.HttpCheck): w.HttpCheck => ({ ...h });
export const decHttp = (x: w.HttpCheck | undefined): Raw | undefined =>
  x && compact({ path: x.path, port: x.port, statusMin: x.statusMin, statusMax: x.statusMax });
export const encTcp = (t: d.TcpCheck): w.TcpCheck => ({ port: t.port });
export const decTcp = (x: w.TcpCheck | undefined): Raw | undefined => x && { port: x.port };
export const encExec = (e: d.ExecCheck): w.ExecCheck => ({ command: [...e.command] });
export const decExec = (x: w.ExecCheck | undefined): Raw | undefined =>
  x && { command: [...x.command] };

export const encHealth = (h: d.HealthCheck): w.HealthCheck => ({
  type: E.HealthCheckType.toWire(h.type),
  http: h.http && encHttp(h.http),
  tcp: h.tcp && encTcp(h.tcp),
  exec: h.exec && encExec(h.exec),
  intervalMs: h.intervalMs,
  timeoutMs: h.timeoutMs,
  retries: h.retries,
  startPeriodMs: h.startPeriodMs,
});
export const decHealth = (x: w.HealthCheck | undefined): Raw | undefined =>
  x && compact({
    type: E.HealthCheckType.fromWire(x.type),
    http: decHttp(x.http),
    tcp: decTcp(x.tcp),
    exec: decExec(x.exec),
    intervalMs: x.intervalMs,
    timeoutMs: x.timeoutMs,
    retries: x.retries,
    startPeriodMs: x.startPeriodMs,
  });

export const encRestart = (r: d.RestartPolicy): w.RestartPolicy => ({
  condition: E.RestartCondition.toWire(r.condition),
  delayMs: r.delayMs,
  maxAttempts: r.maxAttempts,
  windowMs: r.windowMs,
});
export const decRestart = (x: w.RestartPolicy | undefined): Raw | undefined => {
  if (!x) return undefined;
  const o: Raw = {};
  let v: unknown;
  if ((v = E.RestartCondition.fromWire(x.condition)) !== undefined) o.condition = v;
  if (x.delayMs !== undefined) o.delayMs = x.delayMs;
  if (x.maxAttempts !== undefined) o.maxAttempts = x.maxAttempts;
  if (x.windowMs !== undefined) o.windowMs = x.windowMs;
  return o;
};

export const encUpdate = (u: d.UpdateConfig): w.UpdateConfig => ({
  parallelism: u.parallelism,
  delayMs: u.delayMs,
  failureAction: E.FailureAction.toWire(u.failureAction),
  monitorMs: u.monitorMs,
  maxFailureRatio: u.maxFailureRatio,
  order: E.UpdateOrder.toWire(u.order),
});
export const decUpdate = (x: w.UpdateConfig | undefined): Raw | undefined => {
  if (!x) return undefined;
  const o: Raw = {};
  let v: unknown;
  if (x.parallelism !== undefined) o.parallelism = x.parallelism;
  if (x.delayMs !== undefined) o.delayMs = x.delayMs;
  if ((v = E.FailureAction.fromWire(x.failureAction)) !== undefined) o.failureAction = v;
  if (x.monitorMs !== undefined) o.monitorMs = x.monitorMs;
  if (x.maxFailureRatio !== undefined) o.maxFailureRatio = x.maxFailureRatio;
  if ((v = E.UpdateOrder.fromWire(x.order)) !== undefined) o.order = v;
  return o;
};

export const encCanaryStep = (s: d.CanaryStep): w.CanaryStep => ({ ...s });
export const decCanaryStep = (x: w.CanaryStep): Raw =>
  compact({ weightPercent: x.weightPercent, pauseMs: x.pauseMs });
export const encCanary = (c: d.CanaryConfig): w.CanaryConfig => ({
  steps: c.steps.map(encCanaryStep),
});
export const decCanary = (x: w.CanaryConfig | undefined): Raw | undefined =>
  x && { steps: x.steps.map(decCanaryStep) };
export const encBlueGreen = (b: d.BlueGreenConfig): w.BlueGreenConfig => ({ ...b });
export const decBlueGreen = (x: w.BlueGreenConfig | undefined): Raw | undefined =>
  x && compact({ autoPromote: x.autoPromote, keepPreviousMs: x.keepPreviousMs });

export const encDeployment = (p: d.Deployment): w.Deployment => ({
  strategy: E.DeploymentStrategy.toWire(p.strategy),
  canary: p.canary && encCanary(p.canary),
  blueGreen: p.blueGreen && encBlueGreen(p.blueGreen),
});
export const decDeployment = (x: w.Deployment | undefined): Raw | undefined => {
  if (!x) return undefined;
  const o: Raw = {};
  let v: unknown;
  if ((v = E.DeploymentStrategy.fromWire(x.strategy)) !== undefined) o.strategy = v;
  if ((v = decCanary(x.canary)) !== undefined) o.canary = v;
  if ((v = decBlueGreen(x.blueGreen)) !== undefined) o.blueGreen = v;
  return o;
};

export const encSpec = (s: d.ServiceSpec): w.ServiceSpec => ({
  name: s.name,
  image: s.image,
  command: [...s.command],
  args: [...s.args],
  env: [...s.env],
  workdir: s.workdir,
  user: s.user,
  hostname: s.hostname,
  mode: E.ServiceMode.toWire(s.mode),
  replicas: s.replicas,
  resources: encServiceResources(s.resources),
  constraints: [...s.constraints],
  preferences: s.preferences.map(encPreference),
  maxReplicasPerNode: s.maxReplicasPerNode,
  ports: s.ports.map(encPort),
  endpointMode: E.EndpointMode.toWire(s.endpointMode),
  secrets: s.secrets.map(encSecretRef),
  mounts: s.mounts.map(encMount),
  healthCheck: s.healthCheck && encHealth(s.healthCheck),
  restartPolicy: encRestart(s.restartPolicy),
  updateConfig: encUpdate(s.updateConfig),
  rollbackConfig: encUpdate(s.rollbackConfig),
  deployment: encDeployment(s.deployment),
  stopSignal: s.stopSignal,
  stopGracePeriodMs: s.stopGracePeriodMs,
  readOnlyRootfs: s.readOnlyRootfs,
  disconnectGraceMs: s.disconnectGraceMs,
  labels: { ...s.labels },
  registryAuthSecret: s.registryAuthSecret,
  containerLabels: { ...s.containerLabels },
});
/**
 * Built with one named store per defined field, in the order of the fields, instead of through
 * compact(): the hot decoders of a service list (1,000 services: ~60,000 fields) are written out
 * like this because compact()'s generic keyed stores cost ~2 ms per list. Same output.
 */
export const decSpec = (x: w.ServiceSpec | undefined): Raw | undefined => {
  if (!x) return undefined;
  const o: Raw = {};
  let v: unknown;
  if ((v = str(x.name)) !== undefined) o.name = v;
  if ((v = str(x.image)) !== undefined) o.image = v;
  o.command = [...x.command];
  o.args = [...x.args];
  o.env = [...x.env];
  if (x.workdir !== undefined) o.workdir = x.workdir;
  if (x.user !== undefined) o.user = x.user;
  if (x.hostname !== undefined) o.hostname = x.hostname;
  if ((v = E.ServiceMode.fromWire(x.mode)) !== undefined) o.mode = v;
  if (x.replicas !== undefined) o.replicas = x.replicas;
  if ((v = decServiceResources(x.resources)) !== undefined) o.resources = v;
  o.constraints = [...x.constraints];
  o.preferences = x.preferences.map(decPreference);
  if (x.maxReplicasPerNode !== undefined) o.maxReplicasPerNode = x.maxReplicasPerNode;
  o.ports = x.ports.map(decPort);
  if ((v = E.EndpointMode.fromWire(x.endpointMode)) !== undefined) o.endpointMode = v;
  o.secrets = x.secrets.map(decSecretRef);
  o.mounts = x.mounts.map(decMount);
  if ((v = decHealth(x.healthCheck)) !== undefined) o.healthCheck = v;
  if ((v = decRestart(x.restartPolicy)) !== undefined) o.restartPolicy = v;
  if ((v = decUpdate(x.updateConfig)) !== undefined) o.updateConfig = v;
  if ((v = decUpdate(x.rollbackConfig)) !== undefined) o.rollbackConfig = v;
  if ((v = decDeployment(x.deployment)) !== undefined) o.deployment = v;
  if (x.stopSignal !== undefined) o.stopSignal = x.stopSignal;
  if (x.stopGracePeriodMs !== undefined) o.stopGracePeriodMs = x.stopGracePeriodMs;
  if (x.readOnlyRootfs !== undefined) o.readOnlyRootfs = x.readOnlyRootfs;
  if (x.disconnectGraceMs !== undefined) o.disconnectGraceMs = x.disconnectGraceMs;
  o.labels = { ...x.labels };
  if (x.registryAuthSecret !== undefined) o.registryAuthSecret = x.registryAuthSecret;
  o.containerLabels = { ...x.containerLabels };
  return o;
};
