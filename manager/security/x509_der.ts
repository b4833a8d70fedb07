/**
 * The X.509 structures the CA writes and reads, built on der.ts (RFC 5280, RFC 2986): ECDSA P-256
 * with SHA-256 only, which is all Warren issues. Certificates are read back by independent parsers
 * in the tests (@peculiar/x509) and by every TLS handshake.
 * @module
 */
import {
  bitString,
  bool,
  children,
  expect,
  explicit,
  implicit,
  int,
  type Node,
  octets,
  oid,
  oidText,
  read,
  seq,
  set,
  Tag,
  time,
  uint,
  utf8,
} from "./der.ts";

/** ecdsa-with-SHA256, the only signature algorithm Warren writes or accepts. */
const ECDSA_SHA256 = "1.2.840.10045.4.3.2";
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;
const P256 = { name: "ECDSA", namedCurve: "P-256" } as const;

/** Attribute types of the names Warren uses. */
export const NameOid = { CN: "2.5.4.3", OU: "2.5.4.11", O: "2.5.4.10" } as const;

/** A distinguished name: one attribute per RDN, in order (e.g. CN, OU, O). */
export function encodeName(attrs: readonly [keyof typeof NameOid, string][]): Uint8Array {
  return seq(...attrs.map(([k, v]) => set(seq(oid(NameOid[k]), utf8(v)))));
}

/** The first value of attribute `type` in a DER name ("" when absent). */
export function nameField(name: Node, type: keyof typeof NameOid): string {
  for (const rdn of children(name)) {
    for (const atv of children(rdn)) {
      const [t, v] = children(atv);
      if (t && v && oidText(t) === NameOid[type]) return new TextDecoder().decode(v.content);
    }
  }
  return "";
}

const sigAlg = () => seq(oid(ECDSA_SHA256));

/** WebCrypto's ECDSA signature (r‖s) as the DER `Ecdsa-Sig-Value` X.509 carries. */
async function sign(key: CryptoKey, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const rs = new Uint8Array(await crypto.subtle.sign(SIGN, key, data));
  const half = rs.length / 2;
  return seq(uint(rs.subarray(0, half)), uint(rs.subarray(half)));
}

/** Verifies a DER ECDSA signature over `data` with a P-256 public key given as SPKI DER. */
async function verify(spki: Uint8Array, sigDer: Uint8Array, data: Uint8Array): Promise<boolean> {
  const key = await crypto.subtle.importKey("spki", copy(spki), P256, false, ["verify"]);
  const [r, s] = children(expect(sigDer, Tag.sequence, "signature"));
  if (!r || !s || r.tag !== Tag.integer || s.tag !== Tag.integer) return false;
  const fixed = (i: Uint8Array) => {
    const v = i[0] === 0 ? i.subarray(1) : i;
    if (v.length > 32) throw new TypeError("DER: signature integer too long");
    const out = new Uint8Array(32);
    out.set(v, 32 - v.length);
    return out;
  };
  const rs = new Uint8Array(64);
  rs.set(fixed(r.content), 0);
  rs.set(fixed(s.content), 32);
  return await crypto.subtle.verify(SIGN, key, rs, copy(data));
}

function copy(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b);
}

/** The signed wrapper `SEQUENCE { tbs, algorithm, BIT STRING signature }` of `tbs`. */
async function signed(tbs: Uint8Array<ArrayBuffer>, key: CryptoKey): Promise<Uint8Array> {
  return seq(tbs, sigAlg(), bitString(await sign(key, tbs)));
}

/** One certificate extension. */
function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

/** Extensions Warren puts in certificates. */
export const Ext = {
  /** basicConstraints (critical): a CA that signs only end entities, or an end entity. */
  basicConstraints: (ca: boolean) =>
    extension("2.5.29.19", true, ca ? seq(bool(true), int(0)) : seq()),
  /** keyUsage (critical): digitalSignature, plus keyCertSign and cRLSign for a CA. */
  keyUsage: (ca: boolean) =>
    extension(
      "2.5.29.15",
      true,
      // Bit 0 digitalSignature (0x80), bit 5 keyCertSign (0x04), bit 6 cRLSign (0x02); DER drops
      // trailing zero bits and counts them as unused.
      ca ? bitString(Uint8Array.of(0x86), 1) : bitString(Uint8Array.of(0x80), 7),
    ),
  /** extKeyUsage: serverAuth and clientAuth. */
  serverAndClientAuth: () =>
    extension("2.5.29.37", false, seq(oid("1.3.6.1.5.5.7.3.1"), oid("1.3.6.1.5.5.7.3.2"))),
  /** subjectAltName: DNS names and IP addresses (v4 or v6 text). */
  subjectAltName: (names: readonly string[]) =>
    extension(
      "2.5.29.17",
      false,
      seq(...names.map((n) => {
        const ip = ipBytes(n);
        return ip ? implicit(7, ip) : implicit(2, new TextEncoder().encode(n));
      })),
    ),
  /** subjectKeyIdentifier. */
  subjectKeyId: (keyId: Uint8Array) => extension("2.5.29.14", false, octets(keyId)),
  /** authorityKeyIdentifier (keyIdentifier only). */
  authorityKeyId: (keyId: Uint8Array) => extension("2.5.29.35", false, seq(implicit(0, keyId))),
};

/** SHA-1 of the public key bits of SPKI DER: the key identifier of RFC 5280 §4.2.1.2 (1). */
export async function keyId(spki: Uint8Array): Promise<Uint8Array> {
  const [, bits] = children(expect(spki, Tag.sequence, "subjectPublicKeyInfo"));
  if (!bits || bits.tag !== Tag.bitString) throw new TypeError("DER: SPKI has no key bits");
  return new Uint8Array(await crypto.subtle.digest("SHA-1", copy(bits.content.subarray(1))));
}

/** What {@link buildCertificate} needs. */
export interface CertificateFields {
  /** Positive serial number, big-endian. */
  serial: Uint8Array;
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore: number;
  notAfter: number;
  /** The subject's public key, SPKI DER. */
  spki: Uint8Array;
  extensions: Uint8Array[];
  /** The issuer's private key. */
  signingKey: CryptoKey;
}

/** A signed v3 certificate, DER. */
export async function buildCertificate(f: CertificateFields): Promise<Uint8Array> {
  const tbs = seq(
    explicit(0, int(2)),
    uint(f.serial),
    sigAlg(),
    f.issuer,
    seq(time(f.notBefore), time(f.notAfter)),
    f.subject,
    f.spki,
    explicit(3, seq(...f.extensions)),
  );
  return await signed(tbs, f.signingKey);
}

/** A PKCS#10 request for `keys` with subject `subject` (DER name), DER. */
export async function buildCsr(subject: Uint8Array, keys: CryptoKeyPair): Promise<Uint8Array> {
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const info = seq(int(0), subject, spki, explicit(0));
  return await signed(info, keys.privateKey);
}

/** The parts of a certificate the CA reads back. */
export interface CertificateView {
  /** The subject name, DER (to become the issuer of certificates this one signs). */
  subject: Node;
  /** The subjectKeyIdentifier extension's key ID, if present. */
  subjectKeyId: Uint8Array | undefined;
  /** The public key, SPKI DER. */
  spki: Uint8Array;
}

/** Reads a certificate (DER). Throws a TypeError when it is not one. */
export function readCertificate(der: Uint8Array): CertificateView {
  const [tbs] = children(expect(der, Tag.sequence, "certificate"));
  if (!tbs || tbs.tag !== Tag.sequence) throw new TypeError("DER: certificate has no TBS");
  const f = children(tbs);
  // [0] version, serial, signature, issuer, validity, subject, spki, ..., [3] extensions
  const subject = f[5];
  const spki = f[6];
  if (!subject || !spki) throw new TypeError("DER: certificate is too short");
  let subjectKeyId: Uint8Array | undefined;
  const exts = f.find((n) => n.tag === 0xa3);
  for (const ext of exts ? children(children(exts)[0]) : []) {
    const parts = children(ext);
    if (oidText(parts[0]) === "2.5.29.14") {
      subjectKeyId = read(parts[parts.length - 1].content).content;
    }
  }
  return { subject, subjectKeyId, spki: spki.der };
}

/**
 * Reads a PKCS#10 request (DER) and checks its self-signature. Returns its public key (SPKI DER),
 * or throws a TypeError when it does not parse or the signature does not verify.
 */
export async function readCsr(der: Uint8Array): Promise<{ spki: Uint8Array; valid: boolean }> {
  const [info, alg, sig] = children(expect(der, Tag.sequence, "request"));
  if (!info || !alg || !sig || sig.tag !== Tag.bitString) throw new TypeError("DER: bad request");
  const spki = children(info)[2];
  if (!spki || spki.tag !== Tag.sequence) throw new TypeError("DER: request has no public key");
  if (oidText(children(alg)[0]) !== ECDSA_SHA256) {
    throw new TypeError("request is not signed with ECDSA SHA-256");
  }
  const valid = await verify(spki.der, sig.content.subarray(1), info.der);
  return { spki: spki.der, valid };
}

/** IPv4 or IPv6 text as 4 or 16 bytes; undefined when `s` is not an IP address. */
export function ipBytes(s: string): Uint8Array | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    const b = v4.slice(1).map(Number);
    return b.every((x) => x <= 255) ? Uint8Array.from(b) : undefined;
  }
  if (!s.includes(":") || !/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const [head, tail, extra] = s.split("::");
  if (extra !== undefined) return undefined;
  const groups = (part: string | undefined): number[] | undefined => {
    if (!part) return [];
    const out: number[] = [];
    for (const g of part.split(":")) {
      if (g.includes(".")) {
        const four = ipBytes(g);
        if (!four || four.length !== 4) return undefined;
        out.push((four[0] << 8) | four[1], (four[2] << 8) | four[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  if (!h || !t) return undefined;
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  if (fill < 0 || (tail === undefined && h.length !== 8) || (tail !== undefined && fill < 1)) {
    return undefined;
  }
  const all = [...h, ...Array(fill).fill(0), ...t];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}
