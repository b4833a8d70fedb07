/**
 * UDP flows to a task that left a service. A UDP "connection" has no end the kernel can see:
 * conntrack keeps its DNAT to the old task IP for as long as datagrams keep coming (30 s after
 * the last one, 120 s once it saw replies), so a client that reuses its source port — most DNS
 * resolvers, syslog, statsd, game and VoIP clients — keeps sending into a removed task, or into
 * nothing, while the rules already point elsewhere. TCP needs nothing: a new connection gets a
 * new entry, and an established one should keep its task. So, like kube-proxy, when a task IP
 * stops backing a UDP service port, its UDP conntrack entries are deleted (`conntrack -D`), and
 * the next datagram is balanced afresh.
 * @module
 */
import type { Logger } from "../../proto/log.ts";
import { runCommand } from "../host/command.ts";
import type { ServicePortPlan } from "./service_plan.ts";

/** Task IPs that backed a UDP service port in `prev` and back none in `next` (pure, sorted). */
export function removedUdpBackends(
  prev: readonly ServicePortPlan[],
  next: readonly ServicePortPlan[],
): string[] {
  const still = new Set<string>();
  for (const p of next) {
    if (p.protocol === "udp") { for (const b of p.backends) still.add(`${p.key} ${b.ip}`); }
  }
  const gone = new Set<string>();
  for (const p of prev) {
    if (p.protocol !== "udp") continue;
    for (const b of p.backends) if (!still.has(`${p.key} ${b.ip}`)) gone.add(b.ip);
  }
  return [...gone].sort();
}

let warned = false;

/**
 * Deletes the UDP conntrack entries whose replies come from `ips` (DNATed flows to those tasks
 * through a VIP or an ingress port). Best effort: without the `conntrack` tool (Debian package
 * `conntrack`) it warns once and does nothing.
 */
export async function flushUdpFlows(ips: readonly string[], log?: Logger): Promise<void> {
  for (const ip of ips) {
    try {
      // Exit status 1 with "0 flow entries have been deleted" is the common, fine case.
      await runCommand(["conntrack", "-D", "-p", "udp", "--reply-src", ip], { check: false });
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
