/**
 * Which packet filter tool the data plane drives. `iptables` (any backend: on Debian 12 it is
 * iptables-nft) is preferred because its chains coexist with Docker's and the CNI portmap
 * plugin's, which are iptables chains too; plain `nft` is the fallback on hosts without
 * iptables. `WARREN_FIREWALL=iptables|nft` forces a choice.
 * @module
 */
import { FailedPreconditionError } from "../../proto/errors.ts";
import { hasExecutable } from "./command.ts";

/** The packet filter tool in use. */
export type FirewallBackend = "iptables" | "nft";

/** Picks the backend: `$WARREN_FIREWALL`, else iptables-restore if present, else nft. */
export async function detectFirewallBackend(): Promise<FirewallBackend> {
  const forced = Deno.env.get("WARREN_FIREWALL");
  if (forced === "iptables" || forced === "nft") return forced;
  if (await hasExecutable("iptables-restore") && await hasExecutable("iptables")) return "iptables";
  if (await hasExecutable("nft")) return "nft";
  throw new FailedPreconditionError(
    "cannot set up service networking: neither iptables nor nft is installed (apt-get install iptables)",
  );
}
