/**
 * Service VIP allocation, pure so that the manager FSM can call it inside `apply()` and every
 * manager allocates alike: the lowest free host address of the cluster's serviceCidr.
 *
 * The network and broadcast addresses are never handed out (for prefixes up to /30).
 * @module
 */
import { ResourceExhaustedError, ValidationError } from "../../proto/errors.ts";
import { parseCidr } from "../../proto/schema/common.ts";

/** The number of VIPs `serviceCidr` holds. */
export function vipCapacity(serviceCidr: string): number {
  const net = parseCidr(serviceCidr);
  if (!net) throw new ValidationError("serviceCidr", `"${serviceCidr}" is not an IPv4 network`);
  const size = 2 ** (32 - net.prefixBits);
  return size > 2 ? size - 2 : size;
}

/**
 * The lowest address of `serviceCidr` not in `used`.
 * @param what names the service in the error, e.g. `service "web"`
 * @throws ResourceExhaustedError when every address is in use
 */
export function allocateVip(serviceCidr: string, used: ReadonlySet<string>, what: string): string {
  const net = parseCidr(serviceCidr);
  if (!net) throw new ValidationError("serviceCidr", `"${serviceCidr}" is not an IPv4 network`);
  const size = 2 ** (32 - net.prefixBits);
  const first = size > 2 ? 1 : 0;
  const last = size > 2 ? size - 2 : size - 1;
  for (let i = first; i <= last; i++) {
    const ip = formatIpv4(net.address + i);
    if (!used.has(ip)) return ip;
  }
  throw new ResourceExhaustedError(
    `cannot allocate a virtual IP for ${what}: all ${
      vipCapacity(serviceCidr)
    } addresses of the service CIDR ${serviceCidr} are in use; remove a service or use endpoint mode dnsrr`,
  );
}

function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}
