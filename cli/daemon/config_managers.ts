/**
 * Keeps the CLI config on a manager's machine pointing at every manager of the cluster, not only
 * at the managers known when `cluster init` or `warren join` wrote it. Without this, the config
 * of the first manager lists just itself: with that manager down, the CLI on its machine could not
 * reach a cluster that still has a quorum (the CLI fails over between the managers it lists).
 * @module
 */
import type { Manager } from "../../manager/manager.ts";
import type { Change } from "../../manager/state/fsm.ts";
import { logger } from "../../proto/log.ts";
import type { Node } from "../../proto/schema/mod.ts";
import { defaultConfigPath, readCliConfig, writeCliConfig } from "../config.ts";

/**
 * The managers' API addresses, `self` first, the others sorted (a stable order, so an unchanged
 * set is not rewritten).
 */
export function managerApiAddresses(nodes: Iterable<Node>, self: string): string[] {
  const others = new Set<string>();
  for (const n of nodes) {
    if (n.role === "manager" && n.addresses.api && n.addresses.api !== self) {
      others.add(n.addresses.api);
    }
  }
  return [self, ...[...others].sort()];
}

/**
 * Replaces the managers of the config at `path` with `managers`, if it is this cluster's config
 * and lists another set. Returns whether it wrote. A missing or unreadable config, or one of
 * another cluster, is left alone.
 */
export async function syncConfigManagers(
  path: string,
  clusterId: string,
  managers: string[],
): Promise<boolean> {
  const cfg = await readCliConfig(path).catch(() => undefined);
  if (!cfg || cfg.clusterId !== clusterId) return false;
  const have = new Set(cfg.managers);
  if (have.size === managers.length && managers.every((m) => have.has(m))) return false;
  await writeCliConfig(path, { ...cfg, managers });
  return true;
}

/** What {@link keepConfigManagers} needs of a running manager. */
export interface ConfigManagersSource {
  clusterId: string;
  /** This manager's API address. */
  self: string;
  nodes: () => Iterable<Node>;
  onApplied: (fn: (index: number, changes: Change[]) => void) => () => void;
  onError: (err: unknown) => void;
}

/**
 * Syncs the config at `path` now and after every applied change to a manager's node record;
 * returns the function that stops it. Writes are serialized.
 */
export function keepConfigManagers(path: string, s: ConfigManagersSource): () => void {
  let queue = Promise.resolve();
  const sync = () => {
    queue = queue
      .then(() => syncConfigManagers(path, s.clusterId, managerApiAddresses(s.nodes(), s.self)))
      .then(() => {}, s.onError);
  };
  const stop = s.onApplied((_index, changes) => {
    if (changes.some((c) => c.kind === "node" && c.node.role === "manager")) sync();
  });
  sync();
  return stop;
}

/**
 * {@link keepConfigManagers} for a running manager daemon, on the config at `path` (default: the
 * one the CLI reads; nothing is kept when there is none to locate).
 */
export function keepManagerConfig(path: string | undefined, mgr: Manager): () => void {
  let at = path;
  try {
    at ??= defaultConfigPath();
  } catch {
    return () => {}; // neither WARREN_CONFIG nor HOME: no CLI config on this machine to keep
  }
  return keepConfigManagers(at, {
    clusterId: mgr.identity.clusterId,
    self: mgr.apiAddress,
    nodes: () => mgr.store.state.nodes.values(),
    onApplied: (fn) => mgr.store.onApplied(fn),
    onError: (err) =>
      logger("daemon").warn("cannot update the managers in the CLI config", { path, err }),
  });
}
