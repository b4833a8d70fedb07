/**
 * Helpers for the worker's unit tests: assignments with defaults filled in by the real schemas,
 * a fake runtime on a manual clock, and a bounded wait for a condition.
 */
import {
  type Assignment,
  AssignmentSchema,
  type AssignmentsMessage,
  AssignmentsMessageSchema,
  type ServiceSpecInput,
  type TaskState,
} from "../proto/schema/mod.ts";
import { type FakeImage, FakeRuntime, ManualClock } from "../runtime/fake.ts";
import { configureLogging } from "../proto/log.ts";
import { UnavailableError } from "../proto/errors.ts";

configureLogging({ level: "error" });

/** Images of the fake registry used by the tests. */
export const IMAGES = {
  /** Runs until signalled. */
  web: "fake.local/warren/web:v1",
  /** Exits with WARREN_EXIT_CODE (default 3) after WARREN_SLEEP_MS (default 100) ms. */
  exit: "fake.local/warren/exit:v1",
  /** Ignores SIGTERM; exits 2 on SIGINT. */
  stubborn: "fake.local/warren/stubborn:v1",
  /** Every pull fails. */
  broken: "fake.local/warren/broken:v1",
} as const;

/** The fake images. */
export function fakeImages(): FakeImage[] {
  return [
    { ref: IMAGES.web, config: { cmd: ["httpd", "-f"] } },
    {
      ref: IMAGES.exit,
      config: { cmd: ["exit"] },
      behavior: ({ env }) => ({
        exitAfterMs: Number(env.get("WARREN_SLEEP_MS") ?? 100),
        exitCode: Number(env.get("WARREN_EXIT_CODE") ?? 3),
      }),
    },
    {
      ref: IMAGES.stubborn,
      config: { cmd: ["stubborn"] },
      behavior: { ignoreSignals: [15], exitCodeOnSignal: (s) => (s === 2 ? 2 : 128 + s) },
    },
    { ref: IMAGES.broken, pullError: new UnavailableError("registry.local: connection refused") },
  ];
}

/** A fake runtime and the manual clock it shares with the worker. */
export function fakeRuntime(clock = new ManualClock(1_000_000)): {
  runtime: FakeRuntime;
  clock: ManualClock;
} {
  return { runtime: new FakeRuntime({ clock, images: fakeImages() }), clock };
}

let seq = 0;

/**
 * Makes the next `count` calls of the runtime's `method` fail with `err`, as when containerd
 * restarts (`unavailable`). @returns how many calls failed so far
 */
export function failCalls(
  runtime: FakeRuntime,
  method: "wait" | "stop" | "remove" | "inspect" | "list",
  err: Error,
  count = 1,
): () => number {
  const real = runtime[method].bind(runtime) as (...args: unknown[]) => Promise<unknown>;
  let failed = 0;
  Object.assign(runtime, {
    [method]: (...args: unknown[]) => {
      if (failed >= count) return real(...args);
      failed++;
      return Promise.reject(err);
    },
  });
  return () => failed;
}

/** An assignment of a task of a service with `spec` (defaults filled in), state assigned. */
export function assignment(
  spec: Partial<ServiceSpecInput> = {},
  task: { id?: string; slot?: number; desiredState?: TaskState; state?: TaskState } = {},
): Assignment {
  const id = task.id ?? `t${++seq}`;
  const at = 1_000_000;
  return AssignmentSchema.parse({
    serviceName: spec.name ?? "web",
    spec: { name: "web", image: IMAGES.web, ...spec },
    task: {
      id,
      serviceId: "svc1",
      slot: task.slot ?? 1,
      nodeId: "node1",
      specVersion: 1,
      desiredState: task.desiredState ?? "running",
      status: { state: task.state ?? "assigned", message: "", timestamp: at },
      createdAt: at,
      updatedAt: at,
    },
  });
}

/** An assignments message (complete by default). */
export function message(
  assignments: Assignment[],
  extra: Partial<AssignmentsMessage> = {},
): AssignmentsMessage {
  return AssignmentsMessageSchema.parse({ complete: true, index: 1, assignments, ...extra });
}

/** The same assignment with another desired state. */
export function withDesired(a: Assignment, desiredState: TaskState): Assignment {
  return { ...a, task: { ...a.task, desiredState } };
}

/**
 * Lets pending work run (real macrotask turns, and `clock.advance(0)` for due timers) until
 * `cond` holds; fails after a bounded number of turns.
 */
export async function until(
  cond: () => boolean,
  what = "a condition",
  clock?: ManualClock,
): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 0));
    if (clock) await clock.advance(0);
  }
  throw new Error(`gave up waiting for ${what}`);
}
