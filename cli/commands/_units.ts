/**
 * Parsers for the unit-bearing flag values of the client commands: durations (`10s`, `1m30s`,
 * `500ms`), CPU (`0.5`, `250m`), memory (`512M`, `2G`, `1.5GiB`) and plain integers. Each throws
 * a ValidationError naming the flag and saying what was expected.
 * @module
 */
import { ValidationError } from "../../proto/errors.ts";

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** `10s` → 10000; `1m30s` → 90000; `500ms` → 500; `0` → 0. Units: ms, s, m, h, d. */
export function parseDurationMs(text: string, flag: string): number {
  const s = text.trim();
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    end = re.lastIndex;
  }
  if (s === "" || end !== s.length) {
    throw new ValidationError(flag, `"${text}" must be a duration like 10s, 500ms or 1m30s`);
  }
  return Math.round(total);
}

/** CPU cores → billionths of a core: `0.5` → 5e8, `2` → 2e9, `250m` (millicores) → 2.5e8. */
export function parseCpu(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)(m?)$/.exec(text.trim());
  const nano = m ? Math.round(Number(m[1]) * (m[2] ? 1e6 : 1e9)) : NaN;
  if (!m || !(nano > 0)) {
    throw new ValidationError(
      flag,
      `"${text}" must be a positive number of CPU cores like 0.5 or 2 (or millicores like 250m)`,
    );
  }
  return nano;
}

const BYTE_POWERS: Record<string, number> = { "": 0, k: 1, m: 2, g: 3, t: 4 };

/**
 * Memory → bytes, binary multiples as in Docker: `512M` = `512m` = `512MiB` = `512MB` =
 * 512·1024² bytes; a bare number is bytes.
 */
export function parseBytes(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(text.trim());
  if (!m || (m[2] === "" && m[3] !== undefined && m[3].toLowerCase() !== "b")) {
    throw new ValidationError(
      flag,
      `"${text}" must be an amount of memory like 512M, 2G or 1.5GiB`,
    );
  }
  return Math.round(Number(m[1]) * 1024 ** BYTE_POWERS[m[2]!.toLowerCase()]!);
}

/** A whole number within [min, max]. */
export function parseIntFlag(
  text: string,
  flag: string,
  range: { min?: number; max?: number } = {},
): number {
  const min = range.min ?? 0;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const n = /^\s*-?\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const bound = range.max === undefined ? `at least ${min}` : `between ${min} and ${max}`;
    throw new ValidationError(flag, `"${text}" must be a whole number ${bound}`);
  }
  return n;
}

/** A fraction in [0, 1], e.g. `0.2`. */
export function parseRatio(text: string, flag: string): number {
  const n = /^\s*\d*(\.\d+)?\s*$/.test(text) && text.trim() !== "" ? Number(text) : NaN;
  if (!(n >= 0 && n <= 1)) {
    throw new ValidationError(flag, `"${text}" must be a number between 0 and 1, like 0.2`);
  }
  return n;
}
