/**
 * Names and addresses of a node's overlay interface. wireguard-go's control socket lives in
 * `/var/run/wireguard/<ifname>.sock` on the machine's shared filesystem, so when several nodes
 * share one machine (network-namespace test hosts) their interface names must differ: the name is
 * derived from the node ID, not chosen per machine.
 * @module
 */
import { createHash } from "node:crypto";
import { parseCidr } from "../../proto/schema/common.ts";
import { ValidationError } from "../../proto/errors.ts";

/** Linux limit on interface names (IFNAMSIZ - 1). */
export const MAX_IFNAME_CHARS = 15;

/**
 * The overlay interface of `nodeId`: `wg-` and the first 12 hex digits of the SHA-256 of the ID
 * (15 characters). Stable across restarts; two nodes collide with probability ~2^-48.
 */
export function interfaceName(nodeId: string): string {
  const digest = createHash("sha256").update(nodeId).digest("hex");
  return `wg-${digest.slice(0, MAX_IFNAME_CHARS - 3)}`;
}

/** Checks a caller-chosen interface name (1-15 characters, no '/', whitespace or ':'). */
export function validateInterfaceName(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name) || name === "." || name === "..") {
    throw new ValidationError(
      "interfaceName",
      `"${name}" must be 1-${MAX_IFNAME_CHARS} letters, digits, '_', '.' or '-'`,
    );
  }
  return name;
}

/** Formats a 32-bit number as dotted IPv4. */
function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/**
 * The node's own address on the overlay interface: the network address of its task subnet, as a
 * /32 (flannel does the same). Packets the node itself sends through the tunnel carry it as
 * their source, which lies inside the subnet that peers allow for this node; the task bridge keeps
 * `.1` and task addresses from `.2` up.
 */
export function overlayAddress(subnet: string): string {
  const c = parseCidr(subnet);
  if (!c) throw new ValidationError("subnet", `"${subnet}" is not an IPv4 CIDR without host bits`);
  return formatIpv4(c.address);
}
