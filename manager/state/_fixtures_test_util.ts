/**
 * Valid domain objects for state tests, built through the zod schemas so defaults apply.
 * @module
 */
import {
  type Node,
  NodeSchema,
  type Service,
  type ServiceSpecInput,
  ServiceSpecSchema,
  type Task,
  TaskSchema,
} from "../../proto/schema/mod.ts";

/** A service object with spec defaults filled in. */
export function service(id: string, spec: Partial<ServiceSpecInput> = {}, at = 1000): Service {
  return {
    id,
    spec: ServiceSpecSchema.parse({ name: id, image: "registry.local/app:1", ...spec }),
    specVersion: 1,
    createdAt: at,
    updatedAt: at,
  };
}

/** A ready worker node. */
export function node(id: string, at = 1000): Node {
  return NodeSchema.parse({
    id,
    hostname: `host-${id}`,
    role: "worker",
    addresses: { advertise: "127.0.0.1" },
    platform: { os: "linux", arch: "amd64" },
    resources: { nanoCpus: 2e9, memoryBytes: 2 ** 31 },
    status: { state: "ready", lastHeartbeatAt: at },
    version: "0.1.0",
    createdAt: at,
    updatedAt: at,
  });
}

/** A task of `serviceId` in slot `slot`. */
export function task(id: string, serviceId: string, slot: number, at = 1000): Task {
  return TaskSchema.parse({
    id,
    serviceId,
    slot,
    specVersion: 1,
    desiredState: "running",
    status: { state: "new", timestamp: at },
    createdAt: at,
    updatedAt: at,
  });
}
