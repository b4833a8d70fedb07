/**
 * UDP flows to a task that left a service. A UDP "connection" has no end the kernel can see:
 * conntrack keeps its DNAT to the old task IP for as long as datagrams keep coming (30 s after
 * the last one, 120 s once it saw replies), so a client that reuses its source port — most DNS
 * resolvers, syslog, statsd, game and VoIP clients — keeps sending into a removed task, or into
 * nothing, while the rules already point elsewhere. TCP needs nothing: a new connection gets a
 * new entry, and an established one should keep its task. So, like kube-proxy, when a task IP
 * stops backing a UDP service port, its UDP conntrack entries from that port are deleted
 * (`conntrack -D`), and
 * the next datagram is balanced afresh. A VIP balances every port, so a task that leaves a VIP
 * loses its UDP flows from every port.
 * @module
 */
import type { Logger } from "../../proto/log.ts";
import { runCommand } from "../host/command.ts";
import type { ServicePortPlan } from "./service_plan.ts";

/** A task's UDP port (absent: every port, for a VIP) that stopped backing a service port. */
export interface UdpBackend {
  ip: string;
  port?: number;
}

/**
 * Task IP:port pairs that backed a UDP service port in `prev` and back none in `next` (pure,
 * sorted). Per port: a task that leaves one UDP service port keeps its flows of another.
 */
export function removedUdpBackends(
  prev: readonly ServicePortPlan[],
  next: readonly ServicePortPlan[],
): UdpBackend[] {
  const id = (b: UdpBackend) => `${b.ip}:${b.port ?? "*"}`;
  const still = new Set<string>();
  for (const p of next) if (p.protocol === "udp") { for (const b of p.backends) still.add(id(b)); }
  const gone = new Map<string, UdpBackend>();
  for (const p of prev) {
    if (p.protocol !== "udp") continue;
    for (const b of p.backends) if (!still.has(id(b))) gone.set(id(b), { ...b });
  }
  return [...gone.values()].sort((a, b) => id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0);
}

let warned = false;

/**
 * Deletes the UDP conntrack entries whose replies come from `backends` (DNATed flows to those
 * task ports through a VIP or an ingress port). Best effort: without the `conntrack` tool
 * (Debian package `conntrack`) it warns once and does nothing.
 */
export async function flushUdpFlows(backends: readonly UdpBackend[], log?: Logger): Promise<void> {
  for (const { ip, port } of backends) {
    try {
      // Exit status 1 with "0 flow entries have been deleted" is the common, fine case.
      const fromPort = port === undefined ? [] : ["--reply-port-src", `${port}`];
      await runCommand(["conntrack", "-D", "-p", "udp", "--reply-src", ip, ...fromPort], {
        check: false,
      });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      if (!warned) {
        warned = true;
        log?.warn("conntrack not installed: UDP flows to removed tasks are not flushed");
      }
      return;
    }
  }
}
