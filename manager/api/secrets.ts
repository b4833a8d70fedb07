/**
 * Secret handlers: create, list, inspect, update (a new version), delete. Plaintext exists only
 * in these calls' memory on the way in; the log and snapshots hold AES-256-GCM ciphertext, and
 * clients get metadata only.
 * @module
 */
import {
  decodeBase64,
  encodeBase64,
  type Secret,
  type SecretCreateRequest,
  type SecretData,
  type SecretUpdateRequest,
  type StoredSecret,
} from "../../proto/schema/mod.ts";
import { answerOnce, type ApiContext, readBarrier, resolve, write } from "./context.ts";
import { constantTimeEqualBytes } from "../security/mod.ts";

const meta = ({ encrypted: _, ...m }: StoredSecret): Secret => m;

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

/** Creates a secret (version 1); a repeat of the call's request ID is not applied again. */
export function createSecret(ctx: ApiContext, req: SecretCreateRequest): Promise<Secret> {
  // The plaintext only as a keyed digest: the fingerprint is replicated (request_fingerprint.ts).
  const request = async () => ({
    name: req.name,
    labels: req.labels,
    data: await (await ctx.keys()).requestDigest(decodeBase64(req.data)),
  });
  return answerOnce(ctx, "secret.create", request, async (ctx) => {
    const keys = await ctx.keys();
    const id = ctx.newId();
    const at = ctx.now();
    const encrypted = await keys.sealSecret(decodeBase64(req.data), { id, name: req.name });
    const stored = await write<StoredSecret>(ctx, {
      kind: "secret.create",
      at,
      secret: { id, name: req.name, version: 1, labels: req.labels, createdAt: at, encrypted },
    });
    return meta(stored);
  }, (stored) => meta(stored as StoredSecret));
}

/**
 * Replaces a secret's data: a new version, and services using it roll. With `unlessSame`, data
 * and labels equal to the current version's change nothing (what `apply -f` sends); `dryRun`
 * only answers with the secret as the update would leave it.
 */
export function updateSecret(ctx: ApiContext, req: SecretUpdateRequest): Promise<Secret> {
  const request = async () => ({
    id: req.id,
    labels: req.labels,
    unlessSame: req.unlessSame,
    dryRun: req.dryRun,
    data: await (await ctx.keys()).requestDigest(decodeBase64(req.data)),
  });
  return answerOnce(ctx, "secret.update", request, async (ctx) => {
    const s = await readBarrier(ctx, false);
    const cur = resolve(s.secrets, s.secretIdByName, req.id, "secret");
    const keys = await ctx.keys();
    const data = decodeBase64(req.data);
    if (req.unlessSame && sameLabels(cur.labels, req.labels)) {
      const plain = await keys.openSecret(cur.encrypted, cur);
      const same = constantTimeEqualBytes(plain, data);
      plain.fill(0);
      if (same) return meta(cur);
    }
    if (req.dryRun) return { ...meta(cur), version: cur.version + 1, labels: req.labels };
    const encrypted = await keys.sealSecret(data, cur);
    return meta(
      await write<StoredSecret>(ctx, {
        kind: "secret.update",
        at: ctx.now(),
        id: cur.id,
        encrypted,
        labels: req.labels,
      }),
    );
  }, (stored) => meta(stored as StoredSecret));
}

/** Lists secrets (metadata only). */
export async function listSecrets(
  ctx: ApiContext,
  stale: boolean,
): Promise<{ secrets: Secret[]; index: number }> {
  const s = await readBarrier(ctx, stale);
  const secrets = [...s.secrets.values()].map(meta).sort((a, b) => a.name < b.name ? -1 : 1);
  return { secrets, index: ctx.store.index };
}

/** One secret's metadata. */
export async function inspectSecret(
  ctx: ApiContext,
  idOrName: string,
  stale: boolean,
): Promise<Secret> {
  const s = await readBarrier(ctx, stale);
  return meta(resolve(s.secrets, s.secretIdByName, idOrName, "secret"));
}

/** Deletes a secret no service uses. */
export async function deleteSecret(ctx: ApiContext, idOrName: string): Promise<void> {
  await answerOnce(ctx, "secret.delete", () => ({ id: idOrName }), async (ctx) => {
    const s = await readBarrier(ctx, false);
    const cur = resolve(s.secrets, s.secretIdByName, idOrName, "secret");
    await write(ctx, { kind: "secret.delete", at: ctx.now(), id: cur.id });
  }, () => {});
}

/** Plaintext of the named secrets, for a worker whose tasks use them (the dispatcher's hook). */
export async function secretsForWorker(ctx: ApiContext, names: string[]): Promise<SecretData[]> {
  const s = ctx.store.state;
  const keys = await ctx.keys();
  const out: SecretData[] = [];
  for (const name of names) {
    const id = s.secretIdByName.get(name);
    const stored = id === undefined ? undefined : s.secrets.get(id);
    if (!stored) continue;
    const plain = await keys.openSecret(stored.encrypted, stored);
    out.push({ id: stored.id, name: stored.name, data: encodeBase64(plain) });
  }
  return out;
}
