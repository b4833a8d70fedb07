/** Environment variables of a task: `KEY=VALUE` strings with POSIX keys, no key twice. */
import { z } from "zod";

/** Most environment entries a service may set. */
export const MAX_ENV = 256;

const KEY = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;

/** Splits `KEY=VALUE`; returns a reason string when malformed. */
export function parseEnvEntry(entry: string): { key: string; value: string } | string {
  const eq = entry.indexOf("=");
  if (eq < 0) return `"${entry.slice(0, 64)}" must be KEY=VALUE`;
  const key = entry.slice(0, eq);
  if (!KEY.test(key)) {
    return `key "${
      key.slice(0, 64)
    }" must start with a letter or '_' and contain only letters, digits and '_' (at most 256)`;
  }
  if (entry.includes("\0")) return `value of ${key} must not contain NUL`;
  return { key, value: entry.slice(eq + 1) };
}

/** One `KEY=VALUE` entry, at most 32 KiB. */
export const EnvEntrySchema = z.string().max(32 * 1024, "must be at most 32 KiB").superRefine(
  (entry, ctx) => {
    const parsed = parseEnvEntry(entry);
    if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: parsed });
  },
);

/** The environment: at most 256 `KEY=VALUE` entries, each key at most once. */
export const EnvSchema = z.array(EnvEntrySchema).max(MAX_ENV).superRefine((entries, ctx) => {
  const seen = new Map<string, number>();
  entries.forEach((entry, i) => {
    const parsed = parseEnvEntry(entry);
    if (typeof parsed === "string") return;
    const first = seen.get(parsed.key);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: [i],
        message: `sets ${parsed.key} again (already set by entry ${first})`,
      });
    } else seen.set(parsed.key, i);
  });
}).default([]);

/** Turns entries into a key → value map (entries must be valid). */
export function envToRecord(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const parsed = parseEnvEntry(entry);
    if (typeof parsed !== "string") out[parsed.key] = parsed.value;
  }
  return out;
}
