/**
 * The cluster's keys as one manager holds them in memory: the key-encryption key (KEK, from
 * `<dataDir>/cluster.key`), the data keys it unwraps from replicated state, and the CA it opens
 * with them. Signs node certificates and seals/opens secrets and join tokens.
 *
 * What is where: Deno KV (Raft log, snapshots) holds only the CA certificate, the CA key sealed
 * under a data key, and data keys wrapped by the KEK. The KEK lives only on managers' disks
 * (0600) and travels only to joining managers over TLS pinned by the join token.
 * @module
 */
import { join } from "node:path";
import {
  caDigest,
  createCsr,
  createRootCa,
  type DataKey,
  decryptSecret,
  deriveDigestKey,
  encryptSecret,
  exportKeyPem,
  generateDataKey,
  generateKekBytes,
  generateKeyPair,
  importKek,
  type Kek,
  keyedDigest,
  MANAGER_SAN,
  type NodeRole,
  openCaKey,
  type RootCa,
  sealCaKey,
  secretAad,
  signCsr,
  unwrapKey,
  wrapKey,
} from "./security/mod.ts";
import type { ClusterSecurity } from "./state/commands.ts";
import type { EncryptedData } from "../proto/schema/mod.ts";

/** Lifetimes: the CA outlives everything; node certificates renew at 50-80% of theirs. */
export const CA_LIFETIME_MS = 20 * 365 * 86_400_000;
export const NODE_CERT_LIFETIME_MS = 90 * 86_400_000;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A private key and the certificate issued for it (PEM). */
export interface KeyAndCert {
  keyPem: string;
  certPem: string;
}

/** The decrypted cluster keys of one manager. */
export class ClusterKeys {
  private constructor(
    readonly clusterId: string,
    readonly kek: Kek,
    readonly kekRaw: Uint8Array<ArrayBuffer>,
    readonly dataKeys: DataKey[],
    readonly ca: RootCa,
    readonly caDigest: string,
  ) {}

  /** New keys and CA for a new cluster, and their replicated form. */
  static async create(
    clusterId: string,
    now: number,
  ): Promise<{ keys: ClusterKeys; security: ClusterSecurity }> {
    const kekRaw = generateKekBytes();
    const kek = await importKek(kekRaw);
    const dataKey = await generateDataKey();
    const ca = await createRootCa({ clusterId, lifetimeMs: CA_LIFETIME_MS, now });
    const security: ClusterSecurity = {
      caCertPem: ca.certPem,
      caKey: await sealCaKey({ keyPem: ca.keyPem, dataKey, clusterId }),
      dataKeys: [await wrapKey(dataKey, kek)],
    };
    const keys = new ClusterKeys(clusterId, kek, kekRaw, [dataKey], ca, await caDigest(ca.certPem));
    return { keys, security };
  }

  /** Opens the replicated keys with this manager's KEK. */
  static async open(
    clusterId: string,
    security: ClusterSecurity,
    kekRaw: Uint8Array<ArrayBuffer>,
  ): Promise<ClusterKeys> {
    const kek = await importKek(kekRaw);
    const dataKeys: DataKey[] = [];
    for (const w of security.dataKeys) dataKeys.push(await unwrapKey(w, kek));
    const keyPem = await openCaKey({ encrypted: security.caKey, dataKeys, clusterId });
    const ca = { certPem: security.caCertPem, keyPem };
    return new ClusterKeys(clusterId, kek, kekRaw, dataKeys, ca, await caDigest(ca.certPem));
  }

  /** The data key new ciphertexts use. */
  get currentDataKey(): DataKey {
    return this.dataKeys[this.dataKeys.length - 1];
  }

  /** Signs a node's CSR: the certificate names `nodeId` and `role`. */
  signNode(
    o: { csrPem: string; nodeId: string; role: NodeRole; sans: string[]; now: number },
  ): Promise<string> {
    // Clients verify a manager by MANAGER_SAN: only a manager's certificate may carry it, whatever
    // host name or address a joining node claims.
    const claimed = o.sans.filter((n) => n !== MANAGER_SAN);
    const sans = o.role === "manager" ? [...claimed, MANAGER_SAN] : claimed;
    return signCsr({
      ca: this.ca,
      csrPem: o.csrPem,
      nodeId: o.nodeId,
      role: o.role,
      lifetimeMs: NODE_CERT_LIFETIME_MS,
      sans,
      now: o.now,
    });
  }

  /** A fresh key pair and a certificate for it (this manager's own, or an admin client's). */
  async issue(
    o: { nodeId: string; role: NodeRole; sans: string[]; now: number },
  ): Promise<KeyAndCert> {
    const keyPair = await generateKeyPair();
    const csrPem = await createCsr({ keyPair, commonName: o.nodeId });
    return {
      keyPem: await exportKeyPem(keyPair.privateKey),
      certPem: await this.signNode({ ...o, csrPem }),
    };
  }

  #requestDigestKey: Promise<CryptoKey> | undefined;

  /**
   * A keyed digest of `data` (a secret's plaintext) for a request fingerprint (manager/api/
   * request_fingerprint.ts): the same on every manager and for every retry, and no help to a
   * reader of a snapshot guessing the plaintext. Keyed by the cluster's first data key, which
   * every manager holds and which stays when newer ones are added: a retry digests alike.
   */
  async requestDigest(data: Uint8Array): Promise<string> {
    this.#requestDigestKey ??= deriveDigestKey(this.dataKeys[0], "warren request fingerprint");
    return keyedDigest(await this.#requestDigestKey, data);
  }

  /** Seals a secret's plaintext, bound to its ID and name. */
  sealSecret(plaintext: Uint8Array, s: { id: string; name: string }): Promise<EncryptedData> {
    return encryptSecret(new Uint8Array(plaintext), {
      dataKey: this.currentDataKey,
      aad: secretAad(s),
    });
  }

  /** Opens a secret sealed by {@link ClusterKeys.sealSecret}. */
  openSecret(e: EncryptedData, s: { id: string; name: string }): Promise<Uint8Array> {
    return decryptSecret(e, { dataKeys: this.dataKeys, aad: secretAad(s) });
  }

  /** Seals a join token so admins can read it again later. */
  sealToken(token: string, role: string): Promise<EncryptedData> {
    return encryptSecret(enc.encode(token), {
      dataKey: this.currentDataKey,
      aad: `warren-join-token/${role}`,
    });
  }

  /** Seals the autolock unlock key (every manager needs it to lock its own KEK file). */
  sealUnlockKey(unlockKey: string): Promise<EncryptedData> {
    return encryptSecret(enc.encode(unlockKey), {
      dataKey: this.currentDataKey,
      aad: "warren-unlock-key",
    });
  }

  /** Opens the sealed unlock key. */
  async openUnlockKey(e: EncryptedData): Promise<string> {
    return dec.decode(
      await decryptSecret(e, { dataKeys: this.dataKeys, aad: "warren-unlock-key" }),
    );
  }

  /** Opens a sealed join token. */
  async openToken(e: EncryptedData, role: string): Promise<string> {
    return dec.decode(
      await decryptSecret(e, { dataKeys: this.dataKeys, aad: `warren-join-token/${role}` }),
    );
  }
}

/** Path of a manager's KEK file. */
export function kekPath(dataDir: string): string {
  return join(dataDir, "cluster.key");
}
