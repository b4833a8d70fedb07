/**
 * What this host offers: platform, CPU and memory, host name. Read once at start-up.
 * @module
 */
import type { Platform, Resources } from "../proto/schema/mod.ts";

/** The OCI platform of this process's host. */
export function hostPlatform(): Platform {
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "amd64";
  return { os: Deno.build.os === "darwin" ? "darwin" : "linux", arch };
}

/** Schedulable CPU (nano CPUs) and memory (bytes) of this host. */
export function hostResources(): Resources {
  const cpus = navigator.hardwareConcurrency || 1;
  let memoryBytes = 0;
  try {
    memoryBytes = Deno.systemMemoryInfo().total;
  } catch { /* not permitted: unknown */ }
  return { nanoCpus: cpus * 1e9, memoryBytes };
}

/** This host's name, made a valid RFC 1123 host name. */
export function hostName(): string {
  let h = "node";
  try {
    h = Deno.hostname();
  } catch { /* not permitted */ }
  return h.replace(/[^A-Za-z0-9.-]/g, "-").replace(/^-+|-+$/g, "").slice(0, 253) || "node";
}
