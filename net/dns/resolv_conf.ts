/**
 * The resolv.conf a task container gets (bind-mounted at /etc/resolv.conf): the node resolver
 * on the bridge gateway, the cluster domain as search domain so `web` and `web.warren` both
 * resolve, and a short timeout so a resolver restart costs little.
 * @module
 */
import { CLUSTER_DOMAIN } from "./records.ts";

/** The file text for a container whose resolver listens on `nameserver` (port 53). */
export function containerResolvConf(nameserver: string): string {
  return [
    "# Written by Warren: the node's resolver answers service names and forwards the rest.",
    `nameserver ${nameserver}`,
    `search ${CLUSTER_DOMAIN}`,
    "options ndots:1 timeout:2 attempts:2",
    "",
  ].join("\n");
}
