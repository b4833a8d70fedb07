/**
 * containerd leases: while Warren pulls an image or prepares a container, the blobs and snapshots
 * it creates are referenced by nothing yet, so the garbage collector may delete them. Calls made
 * with a lease (`containerd-lease` header) attach what they create to it; deleting the lease hands
 * the resources back to normal reference counting. Each lease also expires on its own, so a
 * crashed Warren does not pin garbage forever.
 */
import type { ContainerdClient } from "./client.ts";

/** Label that makes containerd's GC drop a lease after the given RFC 3339 time. */
export const LEASE_EXPIRE_LABEL = "containerd.io/gc.expire";

/** Options of {@link createLease}. */
export interface LeaseOptions {
  /** Lease ID; random `warren-<uuid>` unless given. */
  id?: string;
  /** Lifetime after which containerd drops the lease itself; default 1 hour. */
  expireAfterMs?: number;
  /** Extra labels on the lease. */
  labels?: Record<string, string>;
}

/** A lease held on a containerd; `await using` deletes it. */
export interface Lease extends AsyncDisposable {
  /** The lease ID, to pass as `CallOptions.lease`. */
  readonly id: string;
  /** Deletes the lease (idempotent); what it held becomes collectable unless referenced. */
  release(): Promise<void>;
}

/** Creates a lease that expires after `expireAfterMs` unless released earlier. */
export async function createLease(
  client: ContainerdClient,
  options: LeaseOptions = {},
): Promise<Lease> {
  const id = options.id ?? `warren-${crypto.randomUUID()}`;
  const expire = new Date(Date.now() + (options.expireAfterMs ?? 60 * 60 * 1000));
  await client.leases.create({
    id,
    labels: { ...options.labels, [LEASE_EXPIRE_LABEL]: expire.toISOString() },
  });
  let released: Promise<void> | undefined;
  const release = () => {
    released ??= client.leases.delete({ id, sync: false }).then(
      () => {},
      (err: { code?: string }) => {
        // Already gone (expired, or deleted by another cleanup path) is what we wanted.
        if (err?.code !== "not_found") throw err;
      },
    );
    return released;
  };
  return { id, release, [Symbol.asyncDispose]: release };
}

/** Runs `fn` under a fresh lease and deletes the lease afterwards, whether `fn` failed or not. */
export async function withLease<T>(
  client: ContainerdClient,
  fn: (leaseId: string) => Promise<T>,
  options: LeaseOptions = {},
): Promise<T> {
  await using lease = await createLease(client, options);
  return await fn(lease.id);
}
