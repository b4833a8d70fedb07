/**
 * `service create|update` flags → ServiceSpec. Flags are parsed into a draft spec (create: from
 * nothing; update: from the current spec, changing only what is given), then the draft is
 * validated with the zod schema before anything is sent; schema errors name the flag that set
 * the field (`--publish: ... (spec.ports[0].published)`).
 * @module
 */
import { type Command, Option } from "commander";
import { ValidationError } from "../../proto/errors.ts";
import { parseConstraint } from "../../proto/schema/constraint.ts";
import { canonicalSignal } from "../../proto/schema/signal.ts";
import * as d from "../../proto/schema/mod.ts";
import { parseBytes, parseCpu, parseDurationMs, parseIntFlag, parseRatio } from "./_units.ts";
import {
  parseConstraintFlag,
  parseEnvFlag,
  parseHealthHttp,
  parseKeyValue,
  parseMount,
  parsePlacementPref,
  parsePublish,
  parseSecretRef,
  type PortInput,
} from "./_values.ts";

/** The flags as commander hands them over (camelCase; repeatable flags are arrays). */
export interface ServiceFlags {
  image?: string;
  replicas?: string;
  mode?: string;
  env?: string[];
  envRm?: string[];
  publish?: string[];
  publishRm?: string[];
  secret?: string[];
  secretRm?: string[];
  mount?: string[];
  mountRm?: string[];
  constraint?: string[];
  constraintRm?: string[];
  placementPref?: string[];
  label?: string[];
  labelRm?: string[];
  containerLabel?: string[];
  containerLabelRm?: string[];
  reserveCpu?: string;
  reserveMemory?: string;
  limitCpu?: string;
  limitMemory?: string;
  healthCmd?: string;
  healthHttp?: string;
  healthTcp?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  /** false after `--no-healthcheck`. */
  healthcheck?: boolean;
  restartCondition?: string;
  restartDelay?: string;
  restartMaxAttempts?: string;
  restartWindow?: string;
  updateParallelism?: string;
  updateDelay?: string;
  updateFailureAction?: string;
  updateMonitor?: string;
  updateMaxFailureRatio?: string;
  updateOrder?: string;
  disconnectGrace?: string;
  stopGracePeriod?: string;
  stopSignal?: string;
  endpointMode?: string;
  maxReplicasPerNode?: string;
  workdir?: string;
  user?: string;
  hostname?: string;
  entrypoint?: string;
  readOnly?: boolean;
  registryAuthSecret?: string;
  registryAuthSecretRm?: boolean;
  /** Swarm's spellings of the adding flags on update (`--env-add` is `--env`): see SWARM_ADD. */
  envAdd?: string[];
  publishAdd?: string[];
  secretAdd?: string[];
  mountAdd?: string[];
  constraintAdd?: string[];
  placementPrefAdd?: string[];
  labelAdd?: string[];
  containerLabelAdd?: string[];
}

/**
 * `service update` also takes Swarm's `--X-add` for each repeatable `--X` (a Swarm user types
 * `--env-add`, and `node update` spells it `--label-add` too); hidden, as the same flag twice.
 */
const SWARM_ADD = [
  ["env", "envAdd"],
  ["publish", "publishAdd"],
  ["secret", "secretAdd"],
  ["mount", "mountAdd"],
  ["constraint", "constraintAdd"],
  ["placementPref", "placementPrefAdd"],
  ["label", "labelAdd"],
  ["containerLabel", "containerLabelAdd"],
] as const satisfies readonly (readonly [keyof ServiceFlags, keyof ServiceFlags])[];

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** Adds the spec flags to `cmd`; `update` adds the `--*-rm` and `--no-healthcheck` flags. */
export function addServiceSpecFlags(cmd: Command, opts: { update: boolean }): Command {
  const list = (flags: string, description: string) => {
    cmd.addOption(new Option(flags, `${description} (repeatable)`).argParser(collect));
    if (opts.update && !flags.includes("-rm ")) {
      // `--env <KEY=VALUE>` → hidden `--env-add <KEY=VALUE>`.
      const add = flags.replace(/^(--[a-z-]+)/, "$1-add");
      cmd.addOption(
        new Option(add, `same as ${flags.split(" ")[0]}`).argParser(collect).hideHelp(),
      );
    }
  };
  const choice = (flags: string, description: string, choices: readonly string[]) =>
    cmd.addOption(new Option(flags, description).choices(choices));
  cmd.option("--image <ref>", "image reference, e.g. registry.local:5000/web:1.2");
  cmd.option("--replicas <n>", "number of tasks (replicated mode)");
  choice("--mode <mode>", "replicated or global", d.ServiceModeSchema.options);
  list("--env <KEY=VALUE>", "environment variable");
  list("--publish <spec>", "port: [mode=host,]PUBLISHED:TARGET[/tcp|udp]");
  list("--secret <spec>", "secret file: NAME[,target=FILE][,mode=0400]");
  list("--mount <spec>", "mount: type=volume|bind|tmpfs,src=..,dst=/path[,ro]");
  list("--constraint <expr>", "placement constraint, e.g. node.labels.zone==edge");
  list("--placement-pref <pref>", "spread preference, e.g. spread=node.labels.zone");
  list("--label <k=v>", "service label (not on its containers: changing it restarts nothing)");
  list("--container-label <k=v>", "label on every container of the service");
  if (opts.update) {
    list("--env-rm <KEY>", "remove an environment variable");
    list("--publish-rm <PUBLISHED[/proto]>", "remove a port by its published (or target) port");
    list("--secret-rm <NAME>", "remove a secret");
    list("--mount-rm <PATH>", "remove a mount by its container path");
    list("--constraint-rm <expr>", "remove a constraint");
    list("--label-rm <KEY>", "remove a label");
    list("--container-label-rm <KEY>", "remove a container label");
  }
  cmd.option("--reserve-cpu <cores>", "CPU reserved per task, e.g. 0.5")
    .option("--reserve-memory <bytes>", "memory reserved per task, e.g. 512M")
    .option("--limit-cpu <cores>", "CPU limit per task, e.g. 2")
    .option("--limit-memory <bytes>", "memory limit per task, e.g. 1G")
    .option("--health-cmd <command>", "health check: shell command run in the container")
    .option("--health-http <path:port>", "health check: HTTP GET, e.g. /healthz:8080")
    .option("--health-tcp <port>", "health check: TCP connect to this port")
    .option("--health-interval <duration>", "time between health checks, e.g. 10s")
    .option("--health-timeout <duration>", "time one health check may take")
    .option("--health-retries <n>", "consecutive failures before unhealthy")
    .option("--health-start-period <duration>", "grace period after start");
  if (opts.update) cmd.option("--no-healthcheck", "remove the health check");
  choice("--restart-condition <when>", "none, on-failure or any", d.RestartConditionSchema.options);
  cmd.option("--restart-delay <duration>", "wait before restarting a task")
    .option("--restart-max-attempts <n>", "most restarts within the window (0 = unlimited)")
    .option("--restart-window <duration>", "window for counting restarts")
    .option("--update-parallelism <n>", "tasks updated at once (0 = all)")
    .option("--update-delay <duration>", "wait between update batches");
  choice(
    "--update-failure-action <action>",
    "pause, continue or rollback",
    d.FailureActionSchema.options,
  );
  cmd.option("--update-monitor <duration>", "how long an updated task is watched")
    .option("--update-max-failure-ratio <ratio>", "failures tolerated during an update, 0..1");
  choice("--update-order <order>", "stop-first or start-first", d.UpdateOrderSchema.options);
  cmd.option("--disconnect-grace <duration>", "keep tasks of a disconnected node this long")
    .option("--stop-grace-period <duration>", "time between the stop signal and SIGKILL")
    .option("--stop-signal <signal>", "signal that stops a task, e.g. SIGTERM, QUIT or 9");
  choice("--endpoint-mode <mode>", "vip or dnsrr", d.EndpointModeSchema.options);
  cmd.option("--max-replicas-per-node <n>", "most tasks of this service per node (0 = any)")
    .option("--workdir <path>", "working directory in the container")
    .option("--user <user[:group]>", "user the task runs as")
    .option("--hostname <name>", "container host name")
    .option("--entrypoint <command>", "replace the image's entrypoint (words split on spaces)")
    .option("--read-only", "mount the root file system read-only")
    .option("--no-read-only", "mount the root file system read-write")
    .option(
      "--registry-auth-secret <secret>",
      "secret with the registry login for the image (user:password or JSON)",
    );
  if (opts.update) cmd.option("--registry-auth-secret-rm", "pull the image without a login");
  return cmd;
}

/** A spec being assembled from flags. */
export type SpecDraft = d.ServiceSpecInput;

/**
 * Applies the given flags to `base` (create: `{ name }`; update: the current spec) and returns
 * the new draft; `args` (after `--`) replace the image's command when non-empty.
 */
export function applyServiceFlags(
  base: SpecDraft,
  f: ServiceFlags,
  args: readonly string[] = [],
): SpecDraft {
  const s: SpecDraft = structuredClone(base);
  f = { ...f };
  for (const [flag, add] of SWARM_ADD) {
    if (f[add] !== undefined) f[flag] = [...(f[flag] ?? []), ...f[add]];
  }
  if (f.image !== undefined) s.image = f.image;
  if (f.mode !== undefined) {
    s.mode = f.mode as d.ServiceMode;
    if (f.mode === "global" && f.replicas === undefined) delete s.replicas;
  }
  if (f.replicas !== undefined) {
    s.replicas = parseIntFlag(f.replicas, "--replicas", { min: 0, max: d.MAX_REPLICAS });
  }
  if (args.length > 0) s.args = [...args];
  if (f.entrypoint !== undefined) s.command = f.entrypoint.split(/\s+/).filter((w) => w !== "");
  if (f.workdir !== undefined) s.workdir = f.workdir;
  if (f.user !== undefined) s.user = f.user;
  if (f.hostname !== undefined) s.hostname = f.hostname;
  if (f.readOnly !== undefined) s.readOnlyRootfs = f.readOnly;
  if (f.registryAuthSecret !== undefined) s.registryAuthSecret = f.registryAuthSecret;
  if (f.registryAuthSecretRm) delete s.registryAuthSecret;
  if (f.stopSignal !== undefined) s.stopSignal = canonicalSignal(f.stopSignal);
  if (f.endpointMode !== undefined) s.endpointMode = f.endpointMode as d.EndpointMode;
  if (f.maxReplicasPerNode !== undefined) {
    s.maxReplicasPerNode = parseIntFlag(f.maxReplicasPerNode, "--max-replicas-per-node");
  }
  const dur = (v: string | undefined, flag: string) =>
    v === undefined ? undefined : parseDurationMs(v, flag);
  const stopGrace = dur(f.stopGracePeriod, "--stop-grace-period");
  if (stopGrace !== undefined) s.stopGracePeriodMs = stopGrace;
  const grace = dur(f.disconnectGrace, "--disconnect-grace");
  if (grace !== undefined) s.disconnectGraceMs = grace;

  s.env = mergeBy(
    s.env ?? [],
    (f.env ?? []).map((e) => parseEnvFlag(e)),
    (e) => e.slice(0, e.indexOf("=")),
    f.envRm,
  );
  s.ports = mergeBy(
    removePorts(s.ports ?? [], f.publishRm ?? []),
    (f.publish ?? []).map((p) => parsePublish(p)),
    portKey,
  );
  s.mounts = mergeBy(
    s.mounts ?? [],
    (f.mount ?? []).map((m) => parseMount(m)),
    (m) => m.target,
    f.mountRm,
  );
  s.secrets = mergeBy(
    (s.secrets ?? []).filter((r) => !(f.secretRm ?? []).includes(r.secret)),
    (f.secret ?? []).map((r) => parseSecretRef(r)),
    (r) => r.target ?? r.secret,
  );
  s.constraints = mergeBy(
    s.constraints ?? [],
    (f.constraint ?? []).map((c) => parseConstraintFlag(c)),
    constraintKey,
    f.constraintRm?.map(constraintKey),
  );
  s.preferences = mergeBy(
    s.preferences ?? [],
    (f.placementPref ?? []).map((p) => parsePlacementPref(p)),
    (p) => p.spread,
  );
  s.labels = mergeLabels(s.labels, f.label, f.labelRm, "--label");
  s.containerLabels = mergeLabels(
    s.containerLabels,
    f.containerLabel,
    f.containerLabelRm,
    "--container-label",
  );

  applyResources(s, f);
  applyHealth(s, f);
  applyPolicies(s, f, dur);
  return s;
}

/** `base` with the `add` flags' `k=v` (or bare `k`) set and the `rm` keys removed. */
function mergeLabels(
  base: Record<string, string> | undefined,
  add: string[] | undefined,
  rm: string[] | undefined,
  flag: string,
): Record<string, string> {
  const labels = { ...base };
  for (const l of add ?? []) {
    const [k, v] = parseKeyValue(l, flag, { allowBare: true });
    labels[k] = v;
  }
  for (const k of rm ?? []) delete labels[k];
  return labels;
}

/** Replaces base entries with the same key as an added one (keeping order), drops removed keys. */
function mergeBy<T>(
  base: readonly T[],
  added: readonly T[],
  key: (item: T) => string,
  removed: readonly string[] = [],
): T[] {
  const out = base.filter((item) => !removed.includes(key(item)));
  const baseCount = out.length;
  for (const item of added) {
    // Only existing entries are replaced: a key given twice on the command line stays twice,
    // so the schema reports it instead of the last one silently winning.
    const i = out.findIndex((x, j) => j < baseCount && key(x) === key(item));
    if (i >= 0) out[i] = item;
    else out.push(item);
  }
  return out;
}

/**
 * A constraint as the scheduler reads it, so `--constraint-rm` and `--constraint` match however
 * it was spaced or cased (`node.role == Manager` is `node.role==manager`; label keys keep case).
 */
function constraintKey(text: string): string {
  const c = parseConstraint(text);
  if (typeof c === "string") return text.trim();
  return `${
    c.attribute === "node.labels" ? `node.labels.${c.label}` : c.attribute
  }${c.operator}${c.value.toLowerCase()}`;
}

function portKey(p: PortInput): string {
  const proto = p.protocol ?? "tcp";
  return p.published !== undefined ? `${p.published}/${proto}` : `target:${p.target}/${proto}`;
}

/**
 * `--publish-rm PORT[/proto]`: drops the ports published at PORT; when none is, the ports
 * whose container port is PORT (as Swarm's `--publish-rm 80` removes `8080:80`, and the only
 * way to name a port published at no fixed number, `--publish 80`).
 */
function removePorts(ports: readonly PortInput[], rm: readonly string[]): PortInput[] {
  let out = [...ports];
  for (const text of rm) {
    const m = /^(\d+)(?:\/(tcp|udp))?$/.exec(text.trim());
    if (!m) {
      throw new ValidationError("--publish-rm", `"${text}" must be PORT[/tcp|udp], e.g. 8080`);
    }
    const n = Number(m[1]);
    const proto = m[2] ?? "tcp";
    const same = (p: PortInput) => (p.protocol ?? "tcp") === proto;
    const byPublished = out.some((p) => same(p) && p.published === n);
    out = out.filter((p) => !(same(p) && (byPublished ? p.published === n : p.target === n)));
  }
  return out;
}

function applyResources(s: SpecDraft, f: ServiceFlags): void {
  const limits = { ...s.resources?.limits };
  const reservations = { ...s.resources?.reservations };
  if (f.limitCpu !== undefined) limits.nanoCpus = parseCpu(f.limitCpu, "--limit-cpu");
  if (f.limitMemory !== undefined) limits.memoryBytes = parseBytes(f.limitMemory, "--limit-memory");
  if (f.reserveCpu !== undefined) reservations.nanoCpus = parseCpu(f.reserveCpu, "--reserve-cpu");
  if (f.reserveMemory !== undefined) {
    reservations.memoryBytes = parseBytes(f.reserveMemory, "--reserve-memory");
  }
  s.resources = { limits, reservations };
}

const HEALTH_KINDS = ["--health-cmd", "--health-http", "--health-tcp"] as const;

function applyHealth(s: SpecDraft, f: ServiceFlags): void {
  const kinds = [f.healthCmd, f.healthHttp, f.healthTcp];
  const given = HEALTH_KINDS.filter((_, i) => kinds[i] !== undefined);
  const tuning = [f.healthInterval, f.healthTimeout, f.healthRetries, f.healthStartPeriod];
  if (given.length > 1) {
    throw new ValidationError(
      given[1]!,
      `cannot be combined with ${given[0]}: a service has one health check`,
    );
  }
  if (f.healthcheck === false) {
    if (given.length > 0 || tuning.some((t) => t !== undefined)) {
      throw new ValidationError(
        "--no-healthcheck",
        "cannot be combined with other --health-* flags",
      );
    }
    delete s.healthCheck;
    return;
  }
  let hc = s.healthCheck ? { ...s.healthCheck } : undefined;
  if (given.length === 1) {
    const timing = hc
      ? {
        intervalMs: hc.intervalMs,
        timeoutMs: hc.timeoutMs,
        retries: hc.retries,
        startPeriodMs: hc.startPeriodMs,
      }
      : {};
    if (f.healthCmd !== undefined) {
      hc = { type: "exec", exec: { command: ["/bin/sh", "-c", f.healthCmd] }, ...timing };
    } else if (f.healthHttp !== undefined) {
      hc = { type: "http", http: parseHealthHttp(f.healthHttp) as d.HttpCheck, ...timing };
    } else {
      hc = {
        type: "tcp",
        tcp: { port: parseIntFlag(f.healthTcp!, "--health-tcp", { min: 1, max: 65535 }) },
        ...timing,
      };
    }
  }
  if (hc === undefined) {
    const i = tuning.findIndex((t) => t !== undefined);
    if (i >= 0) {
      const flag = [
        "--health-interval",
        "--health-timeout",
        "--health-retries",
        "--health-start-period",
      ][i]!;
      throw new ValidationError(
        flag,
        "needs a health check: add --health-cmd, --health-http or --health-tcp",
      );
    }
    return;
  }
  if (f.healthInterval !== undefined) {
    hc.intervalMs = parseDurationMs(f.healthInterval, "--health-interval");
  }
  if (f.healthTimeout !== undefined) {
    hc.timeoutMs = parseDurationMs(f.healthTimeout, "--health-timeout");
  }
  if (f.healthRetries !== undefined) {
    hc.retries = parseIntFlag(f.healthRetries, "--health-retries", { min: 1, max: 100 });
  }
  if (f.healthStartPeriod !== undefined) {
    hc.startPeriodMs = parseDurationMs(f.healthStartPeriod, "--health-start-period");
  }
  s.healthCheck = hc;
}

function applyPolicies(
  s: SpecDraft,
  f: ServiceFlags,
  dur: (v: string | undefined, flag: string) => number | undefined,
): void {
  const restart = { ...s.restartPolicy };
  if (f.restartCondition !== undefined) {
    restart.condition = f.restartCondition as d.RestartCondition;
  }
  restart.delayMs = dur(f.restartDelay, "--restart-delay") ?? restart.delayMs;
  if (f.restartMaxAttempts !== undefined) {
    restart.maxAttempts = parseIntFlag(f.restartMaxAttempts, "--restart-max-attempts");
  }
  restart.windowMs = dur(f.restartWindow, "--restart-window") ?? restart.windowMs;
  s.restartPolicy = dropUndefined(restart);
  const update = { ...s.updateConfig };
  if (f.updateParallelism !== undefined) {
    update.parallelism = parseIntFlag(f.updateParallelism, "--update-parallelism");
  }
  update.delayMs = dur(f.updateDelay, "--update-delay") ?? update.delayMs;
  if (f.updateFailureAction !== undefined) {
    update.failureAction = f.updateFailureAction as d.FailureAction;
  }
  update.monitorMs = dur(f.updateMonitor, "--update-monitor") ?? update.monitorMs;
  if (f.updateMaxFailureRatio !== undefined) {
    update.maxFailureRatio = parseRatio(f.updateMaxFailureRatio, "--update-max-failure-ratio");
  }
  if (f.updateOrder !== undefined) update.order = f.updateOrder as d.UpdateOrder;
  s.updateConfig = dropUndefined(update);
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Which flag (or argument) sets a spec field; checked in order, first match wins. */
const FIELD_FLAGS: readonly [RegExp, string][] = [
  [/^spec\.name\b/, "NAME"],
  [/^spec\.image\b/, "--image"],
  [/^spec\.replicas\b/, "--replicas"],
  [/^spec\.mode\b/, "--mode"],
  [/^spec\.env\b/, "--env"],
  [/^spec\.ports\b/, "--publish"],
  [/^spec\.mounts\b/, "--mount"],
  [/^spec\.secrets\b/, "--secret"],
  [/^spec\.constraints\b/, "--constraint"],
  [/^spec\.preferences\b/, "--placement-pref"],
  [/^spec\.resources\.limits\.nanoCpus\b/, "--limit-cpu"],
  [/^spec\.resources\.limits\.memoryBytes\b/, "--limit-memory"],
  [/^spec\.resources\.reservations\.nanoCpus\b/, "--reserve-cpu"],
  [/^spec\.resources\.reservations\.memoryBytes\b/, "--reserve-memory"],
  [/^spec\.healthCheck\.intervalMs\b/, "--health-interval"],
  [/^spec\.healthCheck\.timeoutMs\b/, "--health-timeout"],
  [/^spec\.healthCheck\.retries\b/, "--health-retries"],
  [/^spec\.healthCheck\.startPeriodMs\b/, "--health-start-period"],
  [/^spec\.healthCheck\.exec\b/, "--health-cmd"],
  [/^spec\.healthCheck\.http\b/, "--health-http"],
  [/^spec\.healthCheck\.tcp\b/, "--health-tcp"],
  [/^spec\.restartPolicy\.condition\b/, "--restart-condition"],
  [/^spec\.restartPolicy\.delayMs\b/, "--restart-delay"],
  [/^spec\.restartPolicy\.maxAttempts\b/, "--restart-max-attempts"],
  [/^spec\.restartPolicy\.windowMs\b/, "--restart-window"],
  [/^spec\.updateConfig\.parallelism\b/, "--update-parallelism"],
  [/^spec\.updateConfig\.delayMs\b/, "--update-delay"],
  [/^spec\.updateConfig\.failureAction\b/, "--update-failure-action"],
  [/^spec\.updateConfig\.monitorMs\b/, "--update-monitor"],
  [/^spec\.updateConfig\.maxFailureRatio\b/, "--update-max-failure-ratio"],
  [/^spec\.updateConfig\.order\b/, "--update-order"],
  [/^spec\.disconnectGraceMs\b/, "--disconnect-grace"],
  [/^spec\.stopGracePeriodMs\b/, "--stop-grace-period"],
  [/^spec\.stopSignal\b/, "--stop-signal"],
  [/^spec\.endpointMode\b/, "--endpoint-mode"],
  [/^spec\.maxReplicasPerNode\b/, "--max-replicas-per-node"],
  [/^spec\.workdir\b/, "--workdir"],
  [/^spec\.user\b/, "--user"],
  [/^spec\.hostname\b/, "--hostname"],
  [/^spec\.registryAuthSecret\b/, "--registry-auth-secret"],
  [/^spec\.command\b/, "--entrypoint"],
  [/^spec\.args\b/, "COMMAND"],
  [/^spec\.labels\b/, "--label"],
  [/^spec\.containerLabels\b/, "--container-label"],
];

/** The flag that sets `field` (a path like `spec.ports[0].target`), if any. */
export function flagForField(field: string): string | undefined {
  return FIELD_FLAGS.find(([re]) => re.test(field))?.[1];
}

/**
 * Validates a draft with the ServiceSpec schema (filling in defaults). A failure is re-thrown
 * naming the flag that set the field, with the field path kept in the message.
 */
export function finishServiceSpec(draft: SpecDraft): d.ServiceSpec {
  try {
    return d.parseOrThrow(d.ServiceSpecSchema, draft, "spec");
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const flag = flagForField(err.field);
    if (flag === undefined) throw err;
    const reason = err.message.slice(err.field.length + 2);
    throw new ValidationError(flag, `${reason} (${err.field})`, { cause: err });
  }
}
