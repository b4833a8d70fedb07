/**
 * What a service spec may not do given the rest of the cluster (secrets it names, ports other
 * services publish, the spec it replaces): rules the manager enforces when it writes a service,
 * shared so `warren apply --plan` checks the same rules, against the cluster plus what the file
 * declares, before anything is sent. Pure functions over domain values; each refusal names the
 * field and the reason.
 * @module
 */
import type { ServiceSpec } from "./schema/mod.ts";

/** Why a spec is refused: the offending field's path and the reason. */
export interface SpecRefusal {
  /** Dotted path, e.g. `spec.ports[1].published`. */
  field: string;
  reason: string;
}

/** A service that may hold published ports. */
export interface PortHolder {
  id: string;
  spec: ServiceSpec;
}

/** The key a published port is claimed under: its number and protocol (`8080/tcp`). */
export function publishedPortKey(published: number, protocol: string): string {
  return `${published}/${protocol}`;
}

/** The keys of the ports `spec` publishes. */
export function publishedPortKeys(spec: ServiceSpec): string[] {
  return spec.ports.flatMap((p) =>
    p.published === undefined ? [] : [publishedPortKey(p.published, p.protocol)]
  );
}

/**
 * The first published port of `spec` that another service holds (as Swarm refuses: "port
 * '8080' is already in use by service 'p1'"). An ingress port is bound on every node, so it
 * clashes with any other use of the same port and protocol; two host-mode ports may share a
 * number because the scheduler keeps their tasks off the same node (the host-ports filter).
 * TCP and UDP on one number do not clash.
 *
 * `selfId` is the service being written (its own ports never clash); `prev` its current spec:
 * a port it already publishes in the same mode is not checked again, so a service that shares a
 * port since before this rule can still be updated (it claims nothing new).
 */
export function publishedPortConflict(
  spec: ServiceSpec,
  holders: Iterable<PortHolder>,
  opts: { selfId?: string; prev?: ServiceSpec } = {},
): SpecRefusal | undefined {
  const held = new Set(
    (opts.prev?.ports ?? []).flatMap((p) =>
      p.published === undefined
        ? []
        : [`${publishedPortKey(p.published, p.protocol)}/${p.publishMode}`]
    ),
  );
  const others = [...holders].filter((h) => h.id !== opts.selfId);
  for (const [i, port] of spec.ports.entries()) {
    if (port.published === undefined) continue;
    const key = publishedPortKey(port.published, port.protocol);
    if (held.has(`${key}/${port.publishMode}`)) continue;
    for (const other of others) {
      const clash = other.spec.ports.find((p) =>
        p.published === port.published && p.protocol === port.protocol &&
        (p.publishMode === "ingress" || port.publishMode === "ingress")
      );
      if (!clash) continue;
      const how = clash.publishMode === "ingress"
        ? "as an ingress port (published on every node)"
        : "as a host-mode port, and an ingress port is published on every node";
      return {
        field: `spec.ports[${i}].published`,
        reason: `port ${key} is already in use by service "${other.spec.name}" ${how}: ` +
          `publish another port, or remove it from "${other.spec.name}" first`,
      };
    }
  }
  return undefined;
}

/**
 * The secrets `spec` names (`secrets[].secret`, `registryAuthSecret`) that do not exist, as
 * Swarm refuses them: accepted, they would fail every task on its node later.
 */
export function missingSecretRefs(
  spec: ServiceSpec,
  exists: (name: string) => boolean,
): SpecRefusal[] {
  const named: [string, string][] = spec.secrets.map((r, i) => [
    `spec.secrets[${i}].secret`,
    r.secret,
  ]);
  if (spec.registryAuthSecret) named.push(["spec.registryAuthSecret", spec.registryAuthSecret]);
  return named.filter(([, name]) => !exists(name)).map(([field, name]) => ({
    field,
    reason: `secret "${name}" does not exist: create it first with 'warren secret create ${name}'`,
  }));
}

/** What an update may not change in a service's spec: its mode (tasks are kept differently). */
export function specChangeRefusal(prev: ServiceSpec, next: ServiceSpec): SpecRefusal | undefined {
  if (prev.mode === next.mode) return undefined;
  return {
    field: "spec.mode",
    reason: `cannot change from ${prev.mode} to ${next.mode}; create a new service`,
  };
}
