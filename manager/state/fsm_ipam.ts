/**
 * Node subnet allocation (pure, inside the FSM so every manager allocates alike): the cluster
 * CIDR is split into subnets of `nodeSubnetBits`; a new node gets the lowest free one.
 * @module
 */
import { parseCidr } from "../../proto/schema/mod.ts";
import { ResourceExhaustedError } from "../../proto/errors.ts";

/** Formats an IPv4 number as dotted quad. */
export function ipv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** The number of a dotted-quad IPv4 address (NaN when it is not one). */
export function ipv4Number(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4) return NaN;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** The network address of `cidr` as a number (NaN when `cidr` is invalid). */
export function cidrBase(cidr: string): number {
  return parseCidr(cidr)?.address ?? NaN;
}

/** The lowest subnet of `clusterCidr` not in `used`, or ResourceExhaustedError for `what`. */
export function allocateSubnet(
  clusterCidr: string,
  nodeSubnetBits: number,
  used: Iterable<string>,
  what: string,
): string {
  const net = parseCidr(clusterCidr);
  if (!net) throw new Error(`invalid cluster CIDR ${clusterCidr}`);
  const size = 2 ** (32 - nodeSubnetBits);
  const count = 2 ** (nodeSubnetBits - net.prefixBits);
  const taken = new Set(used);
  for (let i = 0; i < count; i++) {
    const cidr = `${ipv4(net.address + i * size)}/${nodeSubnetBits}`;
    if (!taken.has(cidr)) return cidr;
  }
  throw new ResourceExhaustedError(
    `cannot add ${what}: all ${count} node subnets (/${nodeSubnetBits}) of ${clusterCidr} are in use; remove a node or init with a larger --cluster-cidr`,
  );
}

/**
 * The lowest free service VIP in `serviceCidr` (skipping the network address and .1, kept for
 * a gateway), or ResourceExhaustedError naming the service that could not get one. `used` holds
 * the addresses taken; the caller promises that none below host offset `scanFrom` is free (0
 * when it knows nothing). Returns the address and its host offset: the next scan can start
 * there.
 */
export function allocateVip(
  serviceCidr: string,
  used: ReadonlyMap<string, unknown> | ReadonlySet<string>,
  service: string,
  scanFrom = 0,
): { vip: string; scannedTo: number } {
  const net = parseCidr(serviceCidr);
  if (!net) throw new Error(`invalid service CIDR ${serviceCidr}`);
  const size = 2 ** (32 - net.prefixBits);
  for (let i = Math.max(2, scanFrom); i < size - 1; i++) {
    const ip = ipv4(net.address + i);
    if (!used.has(ip)) return { vip: ip, scannedTo: i };
  }
  throw new ResourceExhaustedError(
    `cannot give service "${service}" a virtual IP: all ${
      Math.max(0, size - 3)
    } addresses of ${serviceCidr} are in use; remove a service, use endpoint mode dnsrr, or init with a larger --service-cidr`,
  );
}
