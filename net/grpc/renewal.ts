/**
 * Automatic certificate renewal: at a random point in 50-80% of the current certificate's
 * lifetime, obtain a new one and swap it into the live TLS identity (servers and channels pick
 * it up for new connections without a restart). Failures retry with backoff.
 * @module
 */
import { certValidity } from "./pem.ts";
import { renewAt, type TlsIdentity, type TlsMaterial } from "./tls.ts";

/** Options of {@link startRenewal}. */
export interface RenewalOptions {
  identity: TlsIdentity;
  /** Obtains a new certificate (and key) for the same identity. */
  renew: () => Promise<Required<TlsMaterial>>;
  /** Persists renewed material (e.g. to the data directory) before it is used. */
  persist?: (m: Required<TlsMaterial>) => Promise<void>;
  onRenewed?: (notAfter: Date) => void;
  onError?: (err: unknown) => void;
  now?: () => number;
  /** Retry delay after a failed renewal. Default 30 s. */
  retryMs?: number;
}

/** Starts renewing; returns a function that stops it. */
export function startRenewal(o: RenewalOptions): () => void {
  const now = o.now ?? Date.now;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    const { notBefore, notAfter } = certValidity(o.identity.current.certPem!);
    const at = renewAt(notBefore, notAfter);
    timer = setTimeout(run, Math.max(0, Math.min(at - now(), 2 ** 31 - 1)));
  };
  const run = async () => {
    try {
      const m = await o.renew();
      await o.persist?.(m);
      await o.identity.update(m);
      o.onRenewed?.(new Date(certValidity(m.certPem).notAfter));
      schedule();
    } catch (err) {
      o.onError?.(err);
      if (!stopped) timer = setTimeout(run, o.retryMs ?? 30_000);
    }
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
