/**
 * PEM framing (RFC 7468) without a certificate library: what key import/export and the CA digest
 * need, so those paths do not load @peculiar/x509 (see manager/security/x509_lib.ts).
 * @module
 */
import { X509Certificate } from "node:crypto";
import { decodeBase64, encodeBase64 } from "../../proto/schema/base64.ts";

/**
 * The DER bytes of the first PEM block labelled `label` in `pem`. Throws a TypeError when there is
 * none or its body is not base64.
 */
export function pemToDer(pem: string, label: string): Uint8Array<ArrayBuffer> {
  const re = new RegExp(`-----BEGIN ${label}-----([^-]*)-----END ${label}-----`);
  const m = re.exec(pem);
  if (!m) throw new TypeError(`no PEM block "${label}"`);
  const body = m[1].replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) {
    throw new TypeError(`PEM block "${label}" is not base64`);
  }
  return new Uint8Array(decodeBase64(body));
}

/** A PEM block labelled `label` holding `der` (base64 in 64-character lines). */
export function derToPem(der: ArrayBuffer | Uint8Array, label: string): string {
  const bytes = der instanceof Uint8Array ? der : new Uint8Array(der);
  const lines = encodeBase64(bytes).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Validity of a PEM certificate, ms since the epoch. Throws when it does not parse. */
export function certValidity(certPem: string): { notBefore: number; notAfter: number } {
  const cert = new X509Certificate(certPem);
  return { notBefore: cert.validFromDate.getTime(), notAfter: cert.validToDate.getTime() };
}

/** The DER of a PEM certificate, checked to parse as X.509. Throws when it does not. */
export function certDer(certPem: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new X509Certificate(certPem).raw);
}
