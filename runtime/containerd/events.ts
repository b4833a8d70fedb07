/**
 * Task lifecycle events from Events/Subscribe, filtered to one namespace, decoded from their Any
 * payloads (`containerd.events.TaskStart`, `TaskExit`, `TaskOOM`, `TaskDelete`) into
 * {@link RuntimeEvent}s. Exits and deletes of exec processes (id ≠ container ID) are skipped:
 * only a container's main process counts.
 */
import type { RuntimeEvent } from "../runtime.ts";
import { type ContainerdClient, isContainerdCode } from "./client.ts";
import {
  TaskDelete,
  TaskExit,
  TaskOOM,
  TaskStart,
} from "./gen/github.com/containerd/containerd/api/events/task.ts";

/** One envelope as received. */
export interface EventEnvelope {
  timestamp: Date | undefined;
  topic: string;
  event: { typeUrl: string; value: Uint8Array } | undefined;
}

/** Decodes one envelope; undefined for topics Warren does not report. */
export function decodeEvent(env: EventEnvelope): RuntimeEvent | undefined {
  const at = env.timestamp ?? new Date();
  const value = env.event?.value;
  if (!value) return undefined;
  switch (env.topic) {
    case "/tasks/start": {
      const e = TaskStart.decode(value);
      return { type: "start", id: e.containerId, pid: e.pid, at };
    }
    case "/tasks/exit": {
      const e = TaskExit.decode(value);
      if (e.id !== e.containerId) return undefined; // an exec process
      return { type: "exit", id: e.containerId, pid: e.pid, exitCode: e.exitStatus, at };
    }
    case "/tasks/oom": {
      const e = TaskOOM.decode(value);
      return { type: "oom", id: e.containerId, at };
    }
    case "/tasks/delete": {
      const e = TaskDelete.decode(value);
      if (e.id !== "" && e.id !== e.containerId) return undefined;
      return { type: "delete", id: e.containerId, pid: e.pid, exitCode: e.exitStatus, at };
    }
    default:
      return undefined;
  }
}

/**
 * Yields the task events of the client's namespace until `signal` aborts (then it returns
 * without an error). A broken stream (containerd restarting) ends with the error.
 */
export async function* subscribeEvents(
  client: ContainerdClient,
  signal?: AbortSignal,
): AsyncGenerator<RuntimeEvent> {
  if (signal?.aborted) return;
  const filters = [
    `namespace==${client.namespace},topic~="^/tasks/(start|exit|oom|delete)$"`,
  ];
  const stream = client.events.subscribe({ filters }, { signal });
  try {
    for await (const env of stream) {
      const e = decodeEvent(env);
      if (e) yield e;
    }
  } catch (err) {
    if (signal?.aborted && (isContainerdCode(err, "internal") || isCancelled(err))) return;
    throw err;
  } finally {
    stream.cancel();
  }
}

function isCancelled(err: unknown): boolean {
  return (err as { grpcCode?: number })?.grpcCode === 1; // CANCELLED
}
