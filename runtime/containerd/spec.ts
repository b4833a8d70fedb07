/**
 * Builds the OCI runtime spec (config.json) runc runs a container with: process (args, env, cwd,
 * user, capabilities, rlimits), root, hostname, the usual Linux mounts, namespaces, cgroup limits
 * and the masked/read-only /proc and /sys paths, with defaults close to Docker's and containerd's.
 */
import { ValidationError } from "../../proto/errors.ts";
import type { OciImageConfig } from "./oci.ts";
import type { ProcessUser } from "./user.ts";

/** containerd's type URL for a runtime spec carried as JSON in a protobuf Any. */
export const SPEC_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Spec";

/** One OCI mount. */
export interface SpecMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

/** The subset of the OCI runtime spec (v1.0.2) Warren writes. */
export interface RuntimeSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    rlimits: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: SpecMount[];
  linux: {
    namespaces: { type: string; path?: string }[];
    resources: {
      devices: { allow: boolean; access: string; type?: string; major?: number; minor?: number }[];
      cpu?: { shares?: number; quota?: number; period?: number };
      memory?: { limit?: number };
      pids?: { limit: number };
    };
    cgroupsPath: string;
    maskedPaths: string[];
    readonlyPaths: string[];
  };
}

/** How the container is networked. */
export type SpecNetwork =
  | { mode: "host" }
  | { mode: "none" }
  | { mode: "netns"; path: string };

/** An extra bind mount. */
export interface BindMount {
  type?: "bind";
  source: string;
  destination: string;
  readonly?: boolean;
}

/** An extra tmpfs mount: empty, in memory, mode 1777, nosuid and nodev. */
export interface TmpfsMount {
  type: "tmpfs";
  destination: string;
  readonly?: boolean;
}

/** Inputs of {@link buildSpec}. Unset process fields fall back to the image config. */
export interface SpecInput {
  /** Container ID: default hostname (first 12 chars) and last element of the cgroup path. */
  id: string;
  /** Image config supplying default entrypoint, cmd, env and working dir. */
  image?: OciImageConfig;
  /** Replaces the image entrypoint (and then the image cmd is not used). */
  entrypoint?: string[];
  /** Replaces the image cmd. */
  command?: string[];
  /** Added to (and overriding) the image env, `KEY=value` each. */
  env?: string[];
  /** Working directory; image's or `/`. */
  cwd?: string;
  /**
   * The process identity, resolved from the task's or the image's `User` against the rootfs's
   * /etc/passwd and /etc/group with `resolveUser` (user.ts); default root.
   */
  user?: ProcessUser;
  hostname?: string;
  /** Mount the root filesystem read-only. */
  readonlyRootfs?: boolean;
  /** Default `none`: a new, empty network namespace. */
  network?: SpecNetwork;
  /** Extra bind and tmpfs mounts, after the defaults. */
  mounts?: (BindMount | TmpfsMount)[];
  /** CPU limit in CPUs (e.g. 0.5), enforced by CFS quota. */
  cpus?: number;
  /** Relative CPU weight (cgroup v1 shares, default 1024). */
  cpuShares?: number;
  memoryBytesMax?: number;
  pidsMax?: number;
  /** Capabilities added to / dropped from {@link DEFAULT_CAPABILITIES} (`CAP_` prefix optional). */
  capAdd?: string[];
  capDrop?: string[];
  /** cgroup parent path; default `/warren`. */
  cgroupParent?: string;
}

/** Docker's default capability set. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const CFS_PERIOD_US = 100_000;

function defaultMounts(): SpecMount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    },
    {
      destination: "/dev/mqueue",
      type: "mqueue",
      source: "mqueue",
      options: ["nosuid", "noexec", "nodev"],
    },
    {
      destination: "/sys",
      type: "sysfs",
      source: "sysfs",
      options: ["nosuid", "noexec", "nodev", "ro"],
    },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
    },
  ];
}

function normalizeCap(cap: string, field: string): string {
  const c = cap.toUpperCase().startsWith("CAP_") ? cap.toUpperCase() : `CAP_${cap.toUpperCase()}`;
  if (!/^CAP_[A-Z_]+$/.test(c)) {
    throw new ValidationError(field, `"${cap}" is not a capability name`);
  }
  return c;
}

/** Merges `KEY=value` lists; later entries override earlier ones with the same key. */
export function mergeEnv(...lists: (readonly string[] | null | undefined)[]): string[] {
  const byKey = new Map<string, string>();
  for (const list of lists) {
    for (const kv of list ?? []) {
      const eq = kv.indexOf("=");
      byKey.set(eq < 0 ? kv : kv.slice(0, eq), kv);
    }
  }
  return [...byKey.values()];
}

/** Builds the runtime spec. @throws ValidationError when no command results or a field is bad. */
export function buildSpec(input: SpecInput): RuntimeSpec {
  const img = input.image?.config;
  const entrypoint = input.entrypoint ?? img?.Entrypoint ?? [];
  // Docker semantics: an explicit entrypoint resets the image's cmd.
  const command = input.command ?? (input.entrypoint ? [] : img?.Cmd ?? []);
  const args = [...entrypoint, ...command];
  if (args.length === 0) {
    throw new ValidationError("command", "neither the task nor the image defines a command");
  }
  let env = mergeEnv(img?.Env, input.env);
  if (!env.some((e) => e.startsWith("PATH="))) env = [DEFAULT_PATH, ...env];
  const caps = new Set(DEFAULT_CAPABILITIES);
  for (const c of input.capAdd ?? []) caps.add(normalizeCap(c, "capAdd"));
  for (const c of input.capDrop ?? []) caps.delete(normalizeCap(c, "capDrop"));
  const capList = [...caps];

  const network = input.network ?? { mode: "none" };
  const namespaces: RuntimeSpec["linux"]["namespaces"] = [
    { type: "pid" },
    { type: "ipc" },
    { type: "uts" },
    { type: "mount" },
  ];
  if (network.mode === "none") namespaces.push({ type: "network" });
  if (network.mode === "netns") namespaces.push({ type: "network", path: network.path });

  const resources: RuntimeSpec["linux"]["resources"] = {
    devices: [{ allow: false, access: "rwm" }], // runc adds the standard device allow-list
  };
  if (input.cpus !== undefined || input.cpuShares !== undefined) {
    if (input.cpus !== undefined && !(input.cpus > 0)) {
      throw new ValidationError("cpus", `${input.cpus} must be > 0`);
    }
    resources.cpu = {
      ...(input.cpuShares !== undefined ? { shares: input.cpuShares } : {}),
      ...(input.cpus !== undefined
        ? { quota: Math.round(input.cpus * CFS_PERIOD_US), period: CFS_PERIOD_US }
        : {}),
    };
  }
  if (input.memoryBytesMax !== undefined) {
    if (!(input.memoryBytesMax >= 4 * 1024 * 1024)) {
      throw new ValidationError(
        "memoryBytesMax",
        `${input.memoryBytesMax} is below the 4 MiB minimum`,
      );
    }
    resources.memory = { limit: input.memoryBytesMax };
  }
  if (input.pidsMax !== undefined) resources.pids = { limit: input.pidsMax };

  const mounts = defaultMounts();
  for (const [i, m] of (input.mounts ?? []).entries()) {
    if (!m.destination.startsWith("/")) {
      throw new ValidationError(`mounts[${i}].destination`, `"${m.destination}" must be absolute`);
    }
    if (m.type === "tmpfs") {
      // Docker's defaults for a tmpfs mount, minus noexec: scratch space may hold programs.
      mounts.push({
        destination: m.destination,
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "nodev", "mode=1777", m.readonly ? "ro" : "rw"],
      });
      continue;
    }
    mounts.push({
      destination: m.destination,
      type: "bind",
      source: m.source,
      options: ["rbind", "rprivate", m.readonly ? "ro" : "rw"],
    });
  }

  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: input.user ?? { uid: 0, gid: 0 },
      args,
      env,
      cwd: input.cwd ?? (img?.WorkingDir || "/"),
      capabilities: { bounding: capList, effective: capList, permitted: capList },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      // Docker's default. With it set, setuid-root programs of the image (su, sudo, older ping)
      // stop working for a non-root USER, which images resolve to now (user.ts); the default
      // capability set is what bounds a container's privileges.
      noNewPrivileges: false,
    },
    root: { path: "rootfs", readonly: input.readonlyRootfs ?? false },
    hostname: input.hostname ?? input.id.slice(0, 12),
    mounts,
    linux: {
      namespaces,
      resources,
      cgroupsPath: `${input.cgroupParent ?? "/warren"}/${input.id}`,
      maskedPaths: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}

/** Encodes a spec as the protobuf Any containerd stores on a container. */
export function specToAny(spec: RuntimeSpec): { typeUrl: string; value: Uint8Array } {
  return { typeUrl: SPEC_TYPE_URL, value: new TextEncoder().encode(JSON.stringify(spec)) };
}
