/**
 * A task's placement requirements, resolved once per service (and image platform set) from its
 * spec: parsed constraints and spread preferences, reservations, host ports, volumes. Every task
 * of a service shares one request, which is what lets the scheduler reuse filter answers.
 * @module
 */
import { type Constraint, parseConstraint, parseSpread } from "../../proto/schema/mod.ts";
import type { Reservation, SchedulerService } from "./types.ts";

/** An image platform: OS and CPU architecture (`*` matches any OS). */
export interface ImagePlatform {
  /** E.g. `linux`, or `*`. */
  os: string;
  /** Normalized architecture, e.g. `amd64`. */
  arch: string;
}

/** What a task of a service needs from a node. */
export interface TaskRequest {
  /** Owning service. */
  serviceId: string;
  /** Service name, for explanations. */
  serviceName: string;
  /** Reserved CPU and memory (0 when the spec reserves none). */
  reservations: Reservation;
  /** Parsed placement constraints; all must hold. */
  constraints: readonly Constraint[];
  /** Constraint texts, parallel to `constraints`, for explanations. */
  constraintTexts: readonly string[];
  /** Platforms the image supports; empty means any. */
  platforms: readonly ImagePlatform[];
  /** Host-mode published ports, `port/protocol`. */
  hostPorts: readonly string[];
  /** Names of the volumes mounted. */
  volumes: readonly string[];
  /** Most tasks of the service per node (0 = unlimited). */
  maxReplicasPerNode: number;
  /** Label keys to spread over, outermost first (`spread=node.labels.zone` → `zone`). */
  spreadLabels: readonly string[];
}

const ARCH_ALIASES: Record<string, string> = { x86_64: "amd64", aarch64: "arm64", arm64: "arm64" };

/** Normalizes an architecture name (`x86_64` → `amd64`, `aarch64` → `arm64`). */
export function normalizeArch(arch: string): string {
  const a = arch.toLowerCase();
  return ARCH_ALIASES[a] ?? a;
}

/** Parses `os/arch[/variant]` (or a bare `arch`); returns a reason string when malformed. */
export function parseImagePlatform(text: string): ImagePlatform | string {
  const parts = text.trim().split("/");
  if (parts.some((p) => p === "") || parts.length > 3) {
    return `image platform "${text}" must look like linux/amd64`;
  }
  if (parts.length === 1) return { os: "*", arch: normalizeArch(parts[0]!) };
  return { os: parts[0]!.toLowerCase(), arch: normalizeArch(parts[1]!) };
}

/**
 * Resolves the requirements of `service`'s tasks for an image supporting `imagePlatforms`.
 * Returns a reason string when the spec cannot be scheduled at all (a malformed constraint that
 * slipped past validation, a malformed platform).
 */
export function resolveRequest(
  service: SchedulerService,
  imagePlatforms: readonly string[] | undefined,
): TaskRequest | string {
  const spec = service.spec;
  const constraints: Constraint[] = [];
  for (const text of spec.constraints) {
    const c = parseConstraint(text);
    if (typeof c === "string") return `service ${spec.name} has an invalid constraint: ${c}`;
    constraints.push(c);
  }
  const spreadLabels: string[] = [];
  for (const pref of spec.preferences) {
    const s = parseSpread(pref.spread);
    if (typeof s === "string") return `service ${spec.name} has an invalid preference: ${s}`;
    spreadLabels.push(s.label);
  }
  const platforms: ImagePlatform[] = [];
  for (const text of imagePlatforms ?? []) {
    const p = parseImagePlatform(text);
    if (typeof p === "string") return p;
    platforms.push(p);
  }
  const hostPorts = spec.ports
    .filter((p) => p.publishMode === "host" && p.published !== undefined)
    .map((p) => `${p.published}/${p.protocol}`);
  const volumes = [
    ...new Set(
      spec.mounts.filter((m) => m.type === "volume" && m.source).map((m) => m.source!),
    ),
  ];
  return {
    serviceId: service.id,
    serviceName: spec.name,
    reservations: {
      nanoCpus: spec.resources.reservations.nanoCpus ?? 0,
      memoryBytes: spec.resources.reservations.memoryBytes ?? 0,
    },
    constraints,
    constraintTexts: [...spec.constraints],
    platforms,
    hostPorts,
    volumes,
    maxReplicasPerNode: spec.maxReplicasPerNode,
    spreadLabels,
  };
}
