/**
 * `warren apply` as pure functions: parse a multi-document YAML file into desired objects
 * (validated with the zod schemas), then compare them with what the cluster has and plan what
 * to create, update or leave alone. No I/O here; apply.ts fetches and executes.
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import { parseAllDocuments } from "yaml";
import { z } from "zod";
import { ValidationError } from "../../proto/errors.ts";
import * as d from "../../proto/schema/mod.ts";
import {
  missingSecretRefs,
  type PortHolder,
  publishedPortConflict,
  specChangeRefusal,
} from "../../proto/service_rules.ts";

/** Where a desired secret's data comes from (exactly one). */
export type SecretSource = { value: string } | { file: string } | { data: string };

/** One desired object from the file. */
export type Desired =
  | { kind: "Service"; name: string; spec: d.ServiceSpec }
  | { kind: "Secret"; name: string; labels: Record<string, string>; source: SecretSource }
  | { kind: "Volume"; name: string; request: d.VolumeCreateRequest };

const SecretDocSchema = z.strictObject({
  kind: z.literal("Secret"),
  name: d.DnsLabelSchema,
  labels: d.LabelsSchema,
  /** Plain text data. */
  value: z.string().min(1).optional(),
  /** A file to read the data from, relative to the applied file. */
  file: z.string().min(1).optional(),
  /** base64 data. */
  data: d.SecretPlaintextSchema.optional(),
}).superRefine((s, ctx) => {
  const given = (["value", "file", "data"] as const).filter((k) => s[k] !== undefined);
  if (given.length !== 1) {
    ctx.addIssue({
      code: "custom",
      path: given.length === 0 ? ["value"] : [given[1]!],
      message: given.length === 0
        ? "a secret needs one of value, file or data"
        : `cannot be combined with ${given[0]}: give exactly one of value, file or data`,
    });
  }
});

/**
 * Parses the documents of an apply file. Each has `kind: Service|Secret|Volume`; a Service
 * holds its ServiceSpec under `spec` or inline; Secret and Volume fields are inline (a Volume
 * may also use `spec`). Errors name the document and the field: `doc[2].spec.replicas`.
 */
export function parseApplyFile(text: string): Desired[] {
  return parseApplyFiles([{ path: "-", text }])[0]!;
}

/** One file given to `apply -f`: its path (`-` for stdin) and its text. */
export interface ApplySource {
  path: string;
  text: string;
}

/**
 * Parses several apply files as one set of documents (`apply -f a.yaml -f b.yaml`), one list per
 * file in order, so the caller can resolve each file's relative paths. An object declared twice,
 * in one file or across files, is an error. With more than one file, errors name the file too:
 * `b.yaml doc[1].spec.replicas`.
 */
export function parseApplyFiles(files: readonly ApplySource[]): Desired[][] {
  const seen = new Map<string, string>();
  return files.map(({ path, text }) =>
    parseDocuments(text, files.length > 1 ? `${path} ` : "", seen)
  );
}

/** The documents of one file; `seen` maps `Kind/name` to where it was first declared. */
function parseDocuments(text: string, file: string, seen: Map<string, string>): Desired[] {
  const out: Desired[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    const where = `${file}doc[${i}]`;
    if (doc.errors.length > 0) {
      throw new ValidationError(where, `is not valid YAML: ${doc.errors[0]!.message}`);
    }
    const raw = doc.toJS() as unknown;
    if (raw === null || raw === undefined) return; // an empty document (e.g. a trailing ---)
    if (typeof raw !== "object" || Array.isArray(raw)) {
      throw new ValidationError(where, "must be a mapping with a kind");
    }
    const { kind, ...rest } = raw as Record<string, unknown>;
    // Errors name the field where the file has it: under `spec`, or inline.
    const at = "spec" in rest ? `${where}.spec` : where;
    let desired: Desired;
    switch (kind) {
      case "Service": {
        const body = envAsList(specOrInline(where, rest, d.ServiceSpecSchema.in.shape), at);
        const spec = d.parseOrThrow(d.ServiceSpecSchema, body, at);
        desired = { kind, name: spec.name, spec };
        break;
      }
      case "Secret": {
        const s = d.parseOrThrow(SecretDocSchema, { kind, ...rest }, where);
        const source: SecretSource = s.value !== undefined
          ? { value: s.value }
          : s.file !== undefined
          ? { file: s.file }
          : { data: s.data! };
        desired = { kind, name: s.name, labels: s.labels, source };
        break;
      }
      case "Volume": {
        const body = specOrInline(where, rest, d.VolumeCreateRequestSchema.shape);
        const request = d.parseOrThrow(d.VolumeCreateRequestSchema.strict(), body, at);
        desired = { kind, name: request.name, request };
        break;
      }
      default:
        throw new ValidationError(
          `${where}.kind`,
          kind === undefined
            ? "is required: Service, Secret or Volume"
            : `must be Service, Secret or Volume, not ${JSON.stringify(kind)}`,
        );
    }
    const key = `${desired.kind}/${desired.name}`;
    const first = seen.get(key);
    if (first !== undefined) {
      throw new ValidationError(
        where,
        `declares ${desired.kind} "${desired.name}" again (already in ${first})`,
      );
    }
    seen.set(key, where);
    out.push(desired);
  });
  return out;
}

/**
 * The body of a document that holds its fields under `spec` or inline (`fields`: the names the
 * body may have). Beside `spec` only `kind` may appear: any other key is named, as unknown or
 * as one that belongs under `spec`.
 */
/**
 * A service's `env` given as a mapping (`env: { MODE: prod, WORKERS: 4 }`, as compose files
 * write `environment`) becomes the list the spec takes (`MODE=prod`, `WORKERS=4`). A value
 * that is no scalar is refused, naming the variable; a list is left to the schema.
 */
function envAsList(body: unknown, at: string): unknown {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return body;
  const env = (body as Record<string, unknown>).env;
  if (env === null || typeof env !== "object" || Array.isArray(env)) return body;
  const list = Object.entries(env).map(([k, v]) => {
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
      throw new ValidationError(
        d.formatPath(["env", k], at),
        "must be a string, number or boolean (the variable's value)",
      );
    }
    return `${k}=${v}`;
  });
  return { ...body, env: list };
}

function specOrInline(where: string, rest: Record<string, unknown>, fields: object): unknown {
  if (!("spec" in rest)) return rest;
  const extra = Object.keys(rest).find((k) => k !== "spec");
  if (extra === undefined) return rest.spec;
  throw new ValidationError(
    d.formatPath([extra], where),
    Object.hasOwn(fields, extra)
      ? "belongs under spec: give every field under spec or every field inline, not both"
      : "is not a known field (a document has kind and spec, or the spec's fields inline)",
  );
}

/** What the cluster has now. */
export interface CurrentState {
  services: readonly d.Service[];
  secrets: readonly d.Secret[];
  volumes: readonly d.Volume[];
  /**
   * The nodes, when a volume in the file is pinned to one: a file may name the node by host
   * name, which the manager stores as the node's ID.
   */
  nodes?: readonly Pick<d.Node, "id" | "hostname">[];
  /**
   * Secret names whose file data differs from the current version's, as the manager answered
   * (clients never read secret data back: apply asks with a dry-run update, `unlessSame`).
   */
  secretDataChanged?: ReadonlySet<string>;
}

/** One changed field: its path and the old and new values. */
export interface FieldChange {
  path: string;
  from: unknown;
  to: unknown;
}

/** What apply does with one desired object. */
export interface PlanItem {
  kind: Desired["kind"];
  name: string;
  action: "create" | "update" | "unchanged" | "conflict";
  /** Field changes (updates and conflicts). */
  changes: FieldChange[];
  /** Why a conflict cannot be applied, or a note on another action. */
  reason?: string;
  /** The desired object. */
  desired: Desired;
  /** ID, spec version and revision of the existing object, if any. */
  id?: string;
  specVersion?: number;
  revision?: number;
}

/** A plan: its items (secrets, volumes, then services, so references exist first). */
export interface Plan {
  items: PlanItem[];
  /** Number of creates and updates. */
  changes: number;
  /** Number of conflicts (objects apply cannot change). */
  conflicts: number;
}

/** Lists the differences between two JSON-like values as field paths. */
export function diffValues(from: unknown, to: unknown, path = ""): FieldChange[] {
  if (isDeepStrictEqual(from, to)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObj(from) && isObj(to)) {
    const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
    return keys.flatMap((k) => diffValues(from[k], to[k], path ? `${path}.${k}` : k));
  }
  if (Array.isArray(from) && Array.isArray(to) && from.length === to.length) {
    return from.flatMap((v, i) => diffValues(v, to[i], `${path}[${i}]`));
  }
  return [{ path, from, to }];
}

const ORDER = { Secret: 0, Volume: 1, Service: 2 } as const;

/** Compares the desired objects with the current state. Pure. */
export function planApply(current: CurrentState, desired: readonly Desired[]): Plan {
  const items = [...desired].sort((a, b) => ORDER[a.kind] - ORDER[b.kind]).map((want): PlanItem => {
    const base = { kind: want.kind, name: want.name, desired: want, changes: [] as FieldChange[] };
    switch (want.kind) {
      case "Service": {
        const have = current.services.find((s) => s.spec.name === want.name);
        if (!have) return { ...base, action: "create" };
        const changes = diffValues(have.spec, want.spec);
        return {
          ...base,
          id: have.id,
          specVersion: have.specVersion,
          revision: d.serviceRevision(have),
          changes,
          action: changes.length === 0 ? "unchanged" : "update",
        };
      }
      case "Secret": {
        const have = current.secrets.find((s) => s.name === want.name);
        if (!have) return { ...base, action: "create" };
        const changes = diffValues(have.labels, want.labels, "labels");
        if (current.secretDataChanged?.has(want.name)) {
          changes.unshift({ path: "data", from: "(current)", to: "(from the file)" });
        }
        return changes.length === 0 ? { ...base, id: have.id, action: "unchanged" } : {
          ...base,
          id: have.id,
          changes,
          action: "update",
          reason: `a new version ${have.version + 1}: services using it roll`,
        };
      }
      case "Volume": {
        const have = current.volumes.find((v) => v.name === want.name);
        if (!have) return { ...base, action: "create" };
        const { id: _id, createdAt: _c, updatedAt: _u, nodeId, ...haveRequest } = have;
        // A volume the file does not pin lives where its first task landed: the manager binds
        // it to that node, which is no change the file asks to undo (re-applying the same file
        // conflicted once a task had run).
        const pin = want.request.nodeId;
        const bound = pin === undefined ? {} : { nodeId };
        // Pinned by host name: the same node as the ID the manager stored for it.
        const byName = pin !== undefined && pin !== nodeId &&
          current.nodes?.some((n) => n.id === nodeId && n.hostname === pin);
        const request = byName ? { ...want.request, nodeId } : want.request;
        const changes = diffValues({ ...haveRequest, ...bound }, request);
        return changes.length === 0 ? { ...base, id: have.id, action: "unchanged" } : {
          ...base,
          id: have.id,
          changes,
          action: "conflict",
          reason: "volumes cannot be changed in place; remove it and apply again",
        };
      }
    }
  });
  const checked = refuseAsTheManagerWould(current, items);
  return {
    items: checked,
    changes: checked.filter((i) => i.action === "create" || i.action === "update").length,
    conflicts: checked.filter((i) => i.action === "conflict").length,
  };
}

/**
 * Turns the service writes the manager would refuse into conflicts, so a file is applied whole
 * or not at all. The manager's own rules (proto/service_rules.ts) are checked in apply's order
 * against the cluster plus what the file declares: the file's secrets exist by then (they are
 * created first), and each service sees the services before it as they will be. A mount of a
 * volume that neither exists nor is declared is no error: the manager creates a local volume
 * where the first task runs (as Swarm does); the plan says so.
 */
function refuseAsTheManagerWould(current: CurrentState, items: PlanItem[]): PlanItem[] {
  const declared = (kind: Desired["kind"]) =>
    items.filter((i) => i.kind === kind).map((i) => i.name);
  const secrets = new Set([...current.secrets.map((x) => x.name), ...declared("Secret")]);
  const volumes = new Set([...current.volumes.map((x) => x.name), ...declared("Volume")]);
  const holders = new Map<string, PortHolder>(
    current.services.map((sv) => [sv.spec.name, { id: sv.id, spec: sv.spec }]),
  );
  return items.map((item): PlanItem => {
    const want = item.desired;
    if (want.kind !== "Service" || (item.action !== "create" && item.action !== "update")) {
      return item;
    }
    const prev = current.services.find((sv) => sv.id === item.id)?.spec;
    // A new service has no ID yet; this one cannot be any real service's.
    const id = item.id ?? `(new) ${want.name}`;
    const refusals = [
      ...missingSecretRefs(want.spec, (name) => secrets.has(name)),
      prev && specChangeRefusal(prev, want.spec),
      publishedPortConflict(want.spec, holders.values(), { selfId: id, prev }),
    ].filter((r) => r !== undefined);
    holders.set(want.name, { id, spec: want.spec });
    if (refusals.length > 0) {
      return {
        ...item,
        action: "conflict",
        reason: refusals.map((r) => `${r.field}: ${r.reason}`).join("; "),
      };
    }
    const created = want.spec.mounts.filter((m) =>
      m.type === "volume" && m.source !== undefined && !volumes.has(m.source)
    ).map((m) => `volume "${m.source}" does not exist: created where the first task runs`);
    return created.length > 0 ? { ...item, reason: created.join("; ") } : item;
  });
}

const SIGN = { create: "+", update: "~", unchanged: "=", conflict: "!" } as const;

function show(v: unknown): string {
  const text = v === undefined ? "(unset)" : JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** The plan as text: one line per object, indented field changes, and a summary. */
export function formatPlan(plan: Plan): string {
  const lines: string[] = [];
  for (const item of plan.items) {
    lines.push(
      `${SIGN[item.action]} ${item.kind.toLowerCase()} ${item.name}: ${item.action}${
        item.reason ? ` (${item.reason})` : ""
      }`,
    );
    for (const c of item.changes) lines.push(`    ${c.path}: ${show(c.from)} -> ${show(c.to)}`);
  }
  const count = (a: PlanItem["action"]) => plan.items.filter((i) => i.action === a).length;
  lines.push(
    `${count("create")} to create, ${count("update")} to update, ${count("unchanged")} unchanged` +
      (plan.conflicts > 0 ? `, ${plan.conflicts} in conflict` : ""),
  );
  return lines.join("\n");
}
