/**
 * What a running daemon leaves in its data directory for `warren cluster leave` on the same
 * node: its PID (`warren.pid`) so leave can stop it, the managers it talks to
 * (`managers.json`) so leave finds one without flags, and leave's request to stop its tasks
 * on the way out (`leaving`), as `docker swarm leave` does.
 * @module
 */
import { join } from "node:path";

/**
 * Records this process as the node's daemon, and the manager API addresses it knows (a manager
 * lists its own first); returns a function removing the PID record.
 */
export async function writePidFile(
  dataDir: string,
  o: { managers?: readonly string[] } = {},
): Promise<() => Promise<void>> {
  const path = join(dataDir, "warren.pid");
  // A request of a leave that never finished concerns an earlier daemon, not this one.
  await Deno.remove(join(dataDir, "leaving")).catch(() => {});
  if (o.managers?.length) await recordManagers(dataDir, o.managers);
  await Deno.writeTextFile(path, `${Deno.pid}\n`, { mode: 0o644 });
  return async () => {
    try {
      if ((await Deno.readTextFile(path)).trim() === String(Deno.pid)) await Deno.remove(path);
    } catch { /* gone */ }
  };
}

/** What {@link managersToRecord} reads of a running manager. */
export interface ManagerView {
  apiAddress: string;
  identity: { nodeId: string };
  store: {
    state: {
      nodes: ReadonlyMap<string, { id: string; role: string; addresses: { api?: string } }>;
    };
  };
}

/**
 * The managers a manager's daemon records for `cluster leave`: the other managers it knows
 * (from its state, and `extra`: those a join answered with) first, its own API last. Asking
 * another manager first matters when this one leads: a leader that removes itself from Raft
 * can no longer commit the removal of its node record.
 */
export function managersToRecord(mgr: ManagerView, extra: readonly string[] = []): string[] {
  const others = [...mgr.store.state.nodes.values()]
    .filter((n) => n.role === "manager" && n.id !== mgr.identity.nodeId && n.addresses.api)
    .map((n) => n.addresses.api!);
  return [
    ...new Set([...others, ...extra.filter((a) => a !== mgr.apiAddress), mgr.apiAddress]),
  ];
}

/**
 * Records the manager API addresses the node knows (`managers.json`): for `cluster leave`, and
 * for the worker's next start, which then finds the cluster even when the manager it first
 * joined through is gone or no longer leads.
 */
export async function recordManagers(dataDir: string, managers: readonly string[]): Promise<void> {
  await Deno.writeTextFile(
    join(dataDir, "managers.json"),
    JSON.stringify([...new Set(managers)]) + "\n",
    { mode: 0o644 },
  );
}

/** The manager API addresses the node's daemon last recorded (empty when none). */
export async function knownManagers(dataDir: string): Promise<string[]> {
  try {
    const v: unknown = JSON.parse(await Deno.readTextFile(join(dataDir, "managers.json")));
    return Array.isArray(v) ? v.filter((m): m is string => typeof m === "string") : [];
  } catch {
    return [];
  }
}

/** The daemon's PID, when one is recorded and alive. */
export async function runningDaemon(dataDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await Deno.readTextFile(join(dataDir, "warren.pid"))).trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    await Deno.stat(`/proc/${pid}`);
    return pid;
  } catch {
    return undefined;
  }
}

/**
 * Asks the daemon's next stop to stop its tasks first (the node left its cluster: nothing will
 * adopt them); returns a function withdrawing the request once the daemon is gone.
 */
export async function requestLeave(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, "leaving");
  await Deno.writeTextFile(path, "\n", { mode: 0o644 });
  return () => Deno.remove(path).catch(() => {});
}

/** Whether `warren cluster leave` asked this stop to stop the node's tasks. */
export async function leaveRequested(dataDir: string): Promise<boolean> {
  try {
    await Deno.stat(join(dataDir, "leaving"));
    return true;
  } catch {
    return false;
  }
}
