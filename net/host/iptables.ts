/**
 * Small iptables helpers shared by the forward chain (net/cni) and the service chains (net/vip):
 * atomic batches through `iptables-restore --noflush`, jumps from built-in chains inserted once,
 * and removal that tolerates what is already gone.
 * @module
 */
import { runCommand } from "./command.ts";

/** An iptables table Warren writes to. */
export type IptablesTable = "filter" | "nat";

/**
 * Applies `text` (iptables-restore format, one or more `*table ... COMMIT` blocks) atomically per
 * table, leaving every chain the text does not name untouched.
 */
export async function iptablesRestore(text: string): Promise<void> {
  await runCommand(["iptables-restore", "-w", "5", "--noflush"], { stdin: text });
}

/** Whether `chain` exists in `table`. */
export async function chainExists(table: IptablesTable, chain: string): Promise<boolean> {
  const r = await runCommand(["iptables", "-w", "5", "-t", table, "-S", chain], { check: false });
  return r.code === 0;
}

/**
 * Makes `builtin` jump to `chain` (with the extra `match` arguments) as its first rule, unless
 * such a rule exists already anywhere in `builtin`.
 */
export async function ensureJump(
  table: IptablesTable,
  builtin: string,
  chain: string,
  match: string[] = [],
): Promise<void> {
  const rule = [...match, "-j", chain];
  const check = await runCommand(["iptables", "-w", "5", "-t", table, "-C", builtin, ...rule], {
    check: false,
  });
  if (check.code === 0) return;
  await runCommand(["iptables", "-w", "5", "-t", table, "-I", builtin, "1", ...rule]);
}

/** Removes every copy of the jump {@link ensureJump} adds; no error when there is none. */
export async function removeJump(
  table: IptablesTable,
  builtin: string,
  chain: string,
  match: string[] = [],
): Promise<void> {
  const rule = [...match, "-j", chain];
  for (let i = 0; i < 100; i++) {
    const r = await runCommand(["iptables", "-w", "5", "-t", table, "-D", builtin, ...rule], {
      check: false,
    });
    if (r.code !== 0) return;
  }
}

/** Flushes and deletes `chain`; no error when it does not exist. Jumps to it must be gone. */
export async function deleteChain(table: IptablesTable, chain: string): Promise<void> {
  if (!(await chainExists(table, chain))) return;
  await runCommand(["iptables", "-w", "5", "-t", table, "-F", chain]);
  await runCommand(["iptables", "-w", "5", "-t", table, "-X", chain]);
}

/** `iptables-save` output of `table` (for diagnostics and leftover checks). */
export async function iptablesSave(table: IptablesTable): Promise<string> {
  return (await runCommand(["iptables-save", "-t", table])).stdout;
}
