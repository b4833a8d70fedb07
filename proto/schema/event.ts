/**
 * Change events streamed by EventService.Watch, in commit order. `index` is the Raft index of the
 * change; a watcher resumes with `fromIndex = index + 1`. For deletes the object is its last
 * version.
 */
import { z } from "zod";
import { TimestampMsSchema } from "./common.ts";
import { NodeSchema } from "./node.ts";
import { RaftIndexSchema } from "./requests.ts";
import { SecretSchema } from "./secret.ts";
import { ServiceSchema } from "./service.ts";
import { TaskSchema } from "./task.ts";
import { VolumeSchema } from "./volume.ts";

/** Kinds of object an event is about. */
export const EventKindSchema = z.enum(["node", "service", "task", "secret", "volume"]);
/** Event kind. */
export type EventKind = z.infer<typeof EventKindSchema>;

/** What happened to the object. */
export const EventActionSchema = z.enum(["create", "update", "delete"]);
/** Event action. */
export type EventAction = z.infer<typeof EventActionSchema>;

const base = {
  /** Raft index of the change. */
  index: RaftIndexSchema,
  /** What happened. */
  action: EventActionSchema,
  /** Commit time (ms). */
  timestamp: TimestampMsSchema,
};

/** A change event: `kind` says which object field is present. */
export const EventSchema = z.discriminatedUnion("kind", [
  z.object({ ...base, kind: z.literal("node"), node: NodeSchema }),
  z.object({ ...base, kind: z.literal("service"), service: ServiceSchema }),
  z.object({ ...base, kind: z.literal("task"), task: TaskSchema }),
  z.object({ ...base, kind: z.literal("secret"), secret: SecretSchema }),
  z.object({ ...base, kind: z.literal("volume"), volume: VolumeSchema }),
]);
/** A change event. */
export type Event = z.infer<typeof EventSchema>;

/** EventService.Watch request. */
export const WatchRequestSchema = z.object({
  /** First index to deliver; 0 = changes from now on. */
  fromIndex: RaftIndexSchema.default(0),
  /** Only these kinds; empty = all. */
  kinds: z.array(EventKindSchema).max(5).default([]),
});
/** Watch request. */
export type WatchRequest = z.infer<typeof WatchRequestSchema>;
