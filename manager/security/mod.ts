/**
 * Warren's security building blocks: the cluster CA and node certificates, join tokens, and
 * envelope encryption for secrets and the CA key. Mutual TLS for gRPC (servers, channels, caller
 * identity, authorization, live certificate renewal) lives in net/grpc/tls.ts. See README.md.
 * @module
 */
export {
  caDigest,
  type CertInfo,
  createCsr,
  type CreateCsrOptions,
  createRootCa,
  type CreateRootCaOptions,
  exportKeyPem,
  generateKeyPair,
  importKeyPairPem,
  MANAGER_SAN,
  NODE_ROLES,
  type NodeRole,
  parseCert,
  type RootCa,
  signCsr,
  type SignCsrOptions,
  verifyCert,
} from "./ca.ts";
export {
  checkCaDigest,
  generateToken,
  type GenerateTokenOptions,
  hashTokenSecret,
  type ParsedToken,
  parseToken,
  type StoredToken,
  type TokenRole,
  verifyToken,
  type VerifyTokenOptions,
} from "./token.ts";
export {
  caKeyAad,
  type DataKey,
  type DecryptOptions,
  decryptSecret,
  deriveDigestKey,
  deriveKekFromUnlockKey,
  type EncryptOptions,
  encryptSecret,
  generateDataKey,
  generateKekBytes,
  generateUnlockKey,
  importKek,
  type Kek,
  keyedDigest,
  openCaKey,
  type OpenCaKeyOptions,
  sealCaKey,
  type SealCaKeyOptions,
  secretAad,
  unwrapKey,
  wrapKey,
  type WrappedKey,
} from "./secret_box.ts";
export { constantTimeEqual, constantTimeEqualBytes, type RandomBytes } from "./_encoding.ts";
export { type KekFile, lockKek, parseKekFile, unlockKek } from "./kek_file.ts";
