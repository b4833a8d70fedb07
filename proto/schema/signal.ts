/**
 * Signals: the one table of the signals Warren sends (Linux numbers, the same on amd64 and
 * arm64, as Docker's). The spec's `stopSignal` is checked against it and the runtime
 * (runtime/runtime.ts `signalNumber`) sends from it, so a spec that validates never fails later
 * at task start for its signal.
 */
import { z } from "zod";

/** Highest Linux signal number (SIGRTMAX). */
export const MAX_SIGNAL = 64;

const RTMIN = 34;

/** Signal numbers by name, without `SIG`: `TERM` → 15, `RTMIN+3` → 37. */
export const SIGNALS: Readonly<Record<string, number>> = Object.freeze({
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  IOT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  POLL: 29,
  PWR: 30,
  SYS: 31,
  // Real-time signals as Docker names them: RTMIN..RTMIN+15, RTMAX-14..RTMAX.
  RTMIN: RTMIN,
  ...Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`RTMIN+${i + 1}`, RTMIN + 1 + i])),
  ...Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`RTMAX-${14 - i}`, 50 + i])),
  RTMAX: MAX_SIGNAL,
});

/**
 * The number of a signal given as `SIGTERM`, `TERM` (any case), `"15"` or 15; undefined for a
 * name not in {@link SIGNALS} or a number outside 1..{@link MAX_SIGNAL}.
 */
export function signalNumberOf(signal: string | number): number | undefined {
  if (typeof signal === "number") {
    return Number.isInteger(signal) && signal >= 1 && signal <= MAX_SIGNAL ? signal : undefined;
  }
  const s = signal.trim().toUpperCase();
  if (/^\d+$/.test(s)) return signalNumberOf(Number(s));
  const name = s.startsWith("SIG") ? s.slice(3) : s;
  return Object.hasOwn(SIGNALS, name) ? SIGNALS[name] : undefined;
}

/**
 * `signal` as a spec stores it: a known name in any case, with or without `SIG` (`kill`,
 * `KILL`, `sigkill`), becomes `SIGKILL`, as Docker's `--stop-signal` reads it; numbers and
 * unknown names are returned as given, for {@link StopSignalSchema} to accept or explain.
 */
export function canonicalSignal(signal: string): string {
  const s = signal.trim();
  if (/^\d+$/.test(s) || signalNumberOf(s) === undefined) return signal;
  const upper = s.toUpperCase();
  return upper.startsWith("SIG") ? upper : `SIG${upper}`;
}

/** A stop signal in a spec: `SIG` and a name from {@link SIGNALS}, or a number 1-64. */
export const StopSignalSchema = z.string().superRefine((s, ctx) => {
  if (/^(SIG[A-Z0-9+-]{1,12}|[1-9][0-9]?)$/.test(s) && signalNumberOf(s) !== undefined) return;
  ctx.addIssue({
    code: "custom",
    message: `${JSON.stringify(s)} is not a signal: use a signal name like SIGTERM, SIGQUIT ` +
      `or SIGRTMIN+3, or a number 1-${MAX_SIGNAL}`,
  });
});
