/**
 * Human units for explanations: `2 GiB`, `512 MiB`, `1.5 CPUs`. Pending reasons are read by
 * users, so they never show raw bytes or nano-CPUs.
 * @module
 */

const KIB = 1024;
const MIB = KIB * 1024;
const GIB = MIB * 1024;
const TIB = GIB * 1024;

/** Up to two decimals, trailing zeros dropped: 2, 1.5, 0.25. */
function short(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/** Formats a byte count in binary units (B, KiB, MiB, GiB, TiB). */
export function formatBytes(bytes: number): string {
  if (bytes >= TIB) return `${short(bytes / TIB)} TiB`;
  if (bytes >= GIB) return `${short(bytes / GIB)} GiB`;
  if (bytes >= MIB) return `${short(bytes / MIB)} MiB`;
  if (bytes >= KIB) return `${short(bytes / KIB)} KiB`;
  return `${bytes} B`;
}

/** Formats nano-CPUs as CPUs: `1 CPU`, `2 CPUs`, `0.5 CPUs`. */
export function formatCpus(nanoCpus: number): string {
  const cpus = short(nanoCpus / 1e9);
  return `${cpus} ${cpus === "1" ? "CPU" : "CPUs"}`;
}
