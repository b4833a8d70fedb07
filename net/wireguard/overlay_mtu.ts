/**
 * The overlay's MTU on this node: WireGuard adds up to 80 bytes (IPv6 outer header 40, UDP 8,
 * WireGuard 32), so a tunnel over an uplink of MTU M carries at most M - 80 without the outer
 * packets being fragmented. 1420 fits the usual 1500; an edge uplink with less (PPPoE 1492,
 * LTE 1428, a VPN underneath) gets its own, else every full-size packet between nodes is
 * fragmented or, where fragments are dropped, lost.
 * @module
 */
import { DEFAULT_MTU } from "./mesh.ts";

/** Bytes WireGuard adds to each packet at most (IPv6 outer header). */
export const WIREGUARD_OVERHEAD = 80;
/** The least MTU an IPv4 link must carry (RFC 791): below, the overlay is not usable anyway. */
const MIN_MTU = 576;

/** The overlay MTU for an uplink of `linkMtu` (unknown: {@link DEFAULT_MTU}). */
export function overlayMtuFor(linkMtu: number | undefined): number {
  if (linkMtu === undefined || !Number.isFinite(linkMtu)) return DEFAULT_MTU;
  return Math.max(MIN_MTU, Math.min(DEFAULT_MTU, linkMtu - WIREGUARD_OVERHEAD));
}

/** One interface of `ip -j addr show`. */
interface IpLink {
  ifname: string;
  mtu: number;
  addr_info?: { local?: string }[];
}

/** The MTU of the interface holding `address` in `ip -j addr show` output, if any holds it. */
export function linkMtuOf(ipAddrJson: string, address: string): number | undefined {
  let links: IpLink[];
  try {
    links = JSON.parse(ipAddrJson) as IpLink[];
  } catch {
    return undefined;
  }
  if (!Array.isArray(links)) return undefined;
  const link = links.find((l) => l.addr_info?.some((a) => a.local === address));
  return typeof link?.mtu === "number" ? link.mtu : undefined;
}

/**
 * The overlay MTU for a node advertising `address`: from the MTU of the interface that holds
 * it (`ip` in network namespace `netns` when given). {@link DEFAULT_MTU} when that cannot be
 * found (an address behind NAT, `ip` failing).
 */
export async function detectOverlayMtu(address: string, netns?: string): Promise<number> {
  const args = [...(netns ? ["-n", netns] : []), "-j", "addr", "show"];
  const out = await new Deno.Command("ip", { args, stdout: "piped", stderr: "null" }).output()
    .catch(() => undefined);
  if (!out?.success) return DEFAULT_MTU;
  return overlayMtuFor(linkMtuOf(new TextDecoder().decode(out.stdout), address));
}
