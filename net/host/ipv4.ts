/**
 * IPv4 arithmetic for the data plane: subnets, gateways and membership. Addresses are numbers
 * (0 .. 2^32-1) internally, dotted quads at the edges.
 * @module
 */
import { parseCidr } from "../../proto/schema/common.ts";
import { ValidationError } from "../../proto/errors.ts";

/** A parsed IPv4 network. */
export interface Ipv4Net {
  /** Network address as a number. */
  address: number;
  prefixBits: number;
  /** Number of addresses in the network. */
  size: number;
}

/** Parses `10.240.3.0/24`. @throws ValidationError naming `field` when malformed */
export function parseNet(cidr: string, field = "cidr"): Ipv4Net {
  const n = parseCidr(cidr);
  if (!n) {
    throw new ValidationError(field, `"${cidr}" is not an IPv4 network with no host bits set`);
  }
  return { ...n, size: 2 ** (32 - n.prefixBits) };
}

/** Dotted quad → number. @throws ValidationError when malformed */
export function ipToNumber(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new ValidationError("ip", `"${ip}" is not an IPv4 address`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** Number → dotted quad. */
export function numberToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** Whether `ip` lies in `net`. */
export function netContains(net: Ipv4Net, ip: string): boolean {
  const n = ipToNumber(ip);
  return n >= net.address && n < net.address + net.size;
}

/** The gateway Warren gives a node subnet: its first host address (`.1` of a /24). */
export function gatewayOf(subnet: string): string {
  return numberToIp(parseNet(subnet, "subnet").address + 1);
}
