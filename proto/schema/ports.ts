/**
 * Published ports and endpoint modes. `ingress` ports are published on every node and routed to
 * any task through the service VIP; `host` ports are bound only on nodes that run a task.
 */
import { z } from "zod";

/** Transport protocol of a port. */
export const PortProtocolSchema = z.enum(["tcp", "udp"]);
/** Transport protocol of a port. */
export type PortProtocol = z.infer<typeof PortProtocolSchema>;

/** Where a published port is bound. */
export const PublishModeSchema = z.enum(["ingress", "host"]);
/** Where a published port is bound. */
export type PublishMode = z.infer<typeof PublishModeSchema>;

/** How clients reach the service: one virtual IP, or DNS round-robin over task IPs. */
export const EndpointModeSchema = z.enum(["vip", "dnsrr"]);
/** Endpoint mode. */
export type EndpointMode = z.infer<typeof EndpointModeSchema>;

/** Most ports one service may declare. */
export const MAX_PORTS = 64;

/** A port of the service's tasks, optionally published outside the cluster. */
export const PortSchema = z.strictObject({
  /** Optional name, e.g. `http`. */
  name: z.string().max(63).regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, "must be a DNS label")
    .optional(),
  /** tcp or udp. */
  protocol: PortProtocolSchema.default("tcp"),
  /** Port the container listens on. */
  target: z.number().int().min(1).max(65535),
  /** Port published on nodes; absent means not published. */
  published: z.number().int().min(1).max(65535).optional(),
  /** ingress (routing mesh on every node) or host (only where a task runs). */
  publishMode: PublishModeSchema.default("ingress"),
});
/** A service port. */
export type Port = z.infer<typeof PortSchema>;

/** The ports of a service: no published port/protocol pair twice. */
export const PortsSchema = z.array(PortSchema).max(MAX_PORTS).superRefine((ports, ctx) => {
  const seen = new Map<string, number>();
  ports.forEach((port, i) => {
    if (port.published === undefined) return;
    const key = `${port.published}/${port.protocol}`;
    const first = seen.get(key);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: [i, "published"],
        message: `publishes ${key} again (already published by ports[${first}])`,
      });
    } else seen.set(key, i);
  });
}).default([]);
