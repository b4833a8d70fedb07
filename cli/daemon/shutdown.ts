/**
 * Runs until SIGINT or SIGTERM, then stops gracefully (a second signal exits at once).
 * @module
 */

/**
 * Resolves after `stop` finished following the first SIGINT/SIGTERM, or once `until` settled
 * (the daemon ends by itself, e.g. a worker the cluster removed).
 */
export function waitForShutdown(
  stop: () => Promise<void>,
  opts: { until?: Promise<unknown> } = {},
): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = () => {
      if (stopping) Deno.exit(130);
      stopping = true;
      stop().finally(() => {
        Deno.removeSignalListener("SIGINT", onSignal);
        Deno.removeSignalListener("SIGTERM", onSignal);
        resolve();
      });
    };
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
    opts.until?.finally(() => {
      if (!stopping) onSignal();
    }).catch(() => {});
  });
}

/**
 * Runs a daemon's `stops` in order, each one even when one before it failed (containerd must
 * stop after a failed worker stop); `onError` hears every failure.
 */
export async function runStops(
  stops: readonly (() => Promise<void>)[],
  onError: (err: unknown) => void = () => {},
): Promise<void> {
  for (const s of stops) await s().catch(onError);
}
