/**
 * What a manager daemon prints on stdout once it runs, the same whichever command started it
 * (`cluster init`, `join`, `manager join`): the line that says it is up and, under autolock, that
 * it is locked. A restarted manager is started with `join` as often as with `cluster init`, and
 * its operator must learn from either that it needs `cluster unlock` (a locked manager signs no
 * certificates and opens no secrets, yet runs Raft and answers reads as if all were well).
 * @module
 */

/** The facts the banner states. */
export interface ManagerBannerFacts {
  nodeId: string;
  clusterId: string;
  apiAddress: string;
  /** Started with `--manager-only` (no tasks on this node). */
  managerOnly: boolean;
  /** Autolock is on and this manager has not been unlocked since it started. */
  locked: boolean;
}

/** The banner's lines, in order. */
export function managerBanner(f: ManagerBannerFacts): string[] {
  const lines = [
    `manager ${f.nodeId} of cluster ${f.clusterId} running at ${f.apiAddress}${
      f.managerOnly ? "" : " (also running tasks)"
    }`,
  ];
  if (f.locked) lines.push(lockedNotice(f.apiAddress));
  return lines;
}

/** The line telling that this manager is locked, and how to unlock it. */
export function lockedNotice(apiAddress: string): string {
  return `this manager is LOCKED (autolock): unlock it with 'warren cluster unlock --manager ${apiAddress}' (the key on stdin)`;
}
