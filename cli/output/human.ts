/**
 * Human-readable amounts for tables: bytes in binary units, CPU in cores, durations like Go's
 * (`1m30s`), times as "3 minutes ago". The inverse parsers live in cli/commands/_units.ts.
 * @module
 */

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** `536870912` → `512MiB`; `1536` → `1.5KiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toFixed(2))}${BYTE_UNITS[unit]}`;
}

/** Billionths of a core → cores: `500000000` → `0.5`. */
export function formatCpu(nanoCpus: number): string {
  return String(Math.round(nanoCpus / 1e6) / 1e3);
}

/** `90000` → `1m30s`; `500` → `500ms`; `0` → `0s`. */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  let rest = ms;
  let out = "";
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000]] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  if (rest > 0) out += `${rest / 1000}s`;
  return out;
}

/** `then` relative to `now`: "Less than a second ago", "5 seconds ago", "3 hours ago". */
export function formatAgo(thenMs: number, nowMs: number): string {
  const s = Math.floor((nowMs - thenMs) / 1000);
  if (s < 1) return "Less than a second ago";
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"} ago`;
  if (s < 60) return plural(s, "second");
  if (s < 3600) return plural(Math.floor(s / 60), "minute");
  if (s < 86_400) return plural(Math.floor(s / 3600), "hour");
  if (s < 86_400 * 14) return plural(Math.floor(s / 86_400), "day");
  if (s < 86_400 * 60) return plural(Math.floor(s / (86_400 * 7)), "week");
  if (s < 86_400 * 730) return plural(Math.floor(s / (86_400 * 30)), "month");
  return plural(Math.floor(s / (86_400 * 365)), "year");
}
