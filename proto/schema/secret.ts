/**
 * Secrets. The cluster store holds only ciphertext (`StoredSecret.encrypted`); API responses carry
 * only metadata (`Secret`); plaintext exists in a create request and, for tasks that use the
 * secret, in the assignment a worker receives over mutual TLS.
 */
import { z } from "zod";
import { base64DecodedLength } from "./base64.ts";
import {
  Base64Schema,
  DnsLabelSchema,
  IdSchema,
  LabelsSchema,
  TimestampMsSchema,
} from "./common.ts";

/** Largest secret payload: 500 KiB, as in Swarm. */
export const MAX_SECRET_BYTES = 500 * 1024;

/** Secret metadata: what the API returns. */
export const SecretSchema = z.object({
  /** Secret ID. */
  id: IdSchema,
  /** Name, a DNS label, unique in the cluster. */
  name: DnsLabelSchema,
  /** Version of the stored object (bumped when labels change; data is immutable). */
  version: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** User labels. */
  labels: LabelsSchema,
  /** Creation time (ms). */
  createdAt: TimestampMsSchema,
});
/** Secret metadata. */
export type Secret = z.infer<typeof SecretSchema>;

/** Encrypted secret data (AEAD ciphertext with its nonce and the ID of the key that sealed it). */
export const EncryptedDataSchema = z.object({
  /** Ciphertext including the authentication tag, base64. */
  ciphertext: Base64Schema.max(2 * MAX_SECRET_BYTES, "is too large"),
  /** Nonce, base64 (12 bytes for AES-GCM). */
  nonce: Base64Schema.max(64),
  /** ID of the data-encryption key, so keys can rotate. */
  keyId: z.string().min(1).max(128),
});
/** Encrypted secret data. */
export type EncryptedData = z.infer<typeof EncryptedDataSchema>;

/** A secret as the cluster store keeps it: metadata plus ciphertext, never plaintext. */
export const StoredSecretSchema = SecretSchema.extend({
  /** The sealed data. */
  encrypted: EncryptedDataSchema,
});
/** A stored secret. */
export type StoredSecret = z.infer<typeof StoredSecretSchema>;

/** Plaintext secret data, base64, 1 byte .. 500 KiB once decoded. */
export const SecretPlaintextSchema = Base64Schema.superRefine((data, ctx) => {
  const size = base64DecodedLength(data);
  if (size < 1) ctx.addIssue({ code: "custom", message: "must not be empty" });
  if (size > MAX_SECRET_BYTES) {
    ctx.addIssue({
      code: "custom",
      message: `must be at most ${MAX_SECRET_BYTES} bytes (is ${size})`,
    });
  }
});

/** Request to create a secret. Strict, as every request body: an unknown field is an error. */
export const SecretCreateRequestSchema = z.strictObject({
  /** Name, a DNS label. */
  name: DnsLabelSchema,
  /** The plaintext, base64. */
  data: SecretPlaintextSchema,
  /** User labels. */
  labels: LabelsSchema,
});
/** Request to create a secret. */
export type SecretCreateRequest = z.infer<typeof SecretCreateRequestSchema>;

/** SecretService.Update request: new data (a new version) and labels. */
export const SecretUpdateRequestSchema = z.strictObject({
  /** Secret ID or name. */
  id: IdSchema,
  data: SecretPlaintextSchema,
  labels: LabelsSchema,
  /** No new version when data and labels are the current version's (services do not roll). */
  unlessSame: z.boolean().default(false),
  /** Change nothing; answer with the secret as the update would leave it. */
  dryRun: z.boolean().default(false),
});
/** A secret update. */
export type SecretUpdateRequest = z.infer<typeof SecretUpdateRequestSchema>;
