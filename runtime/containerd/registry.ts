/**
 * A minimal OCI distribution API client (the pull side): manifests and blobs over `fetch`, with
 * anonymous, HTTP basic and bearer-token auth (the `WWW-Authenticate` challenge flow).
 *
 * Plain HTTP is used only for registries on loopback or listed as insecure; everything else is
 * HTTPS, and credentials are never sent in clear text to a non-loopback, non-insecure host.
 */
import {
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
  WarrenError,
} from "../../proto/errors.ts";
import { DOCKER_HUB_API_HOST } from "./reference.ts";
import { sha256Hex } from "./_digest.ts";

/** User name and password (or identity token as password) for one registry. */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Options of {@link RegistryClient}. */
export interface RegistryClientOptions {
  /** Credentials for basic auth or for the token endpoint; anonymous when absent. */
  credentials?: RegistryCredentials;
  /** Registry hosts (host[:port]) that may be reached over plain HTTP besides loopback ones. */
  insecureRegistries?: readonly string[];
  /** Timeout of each request's headers; default 30 s. Bodies stream without a deadline. */
  requestTimeoutMs?: number;
}

/** Every manifest media type Warren can pull, in the `Accept` header. */
export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** A fetched manifest or index, digest verified. */
export interface FetchedManifest {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Uint8Array;
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** True for `localhost`, 127.0.0.0/8 and ::1, with or without a port. */
export function isLoopbackHost(host: string): boolean {
  const bareIpv6 = !host.startsWith("[") && host.indexOf(":") !== host.lastIndexOf(":");
  const h = host.startsWith("[")
    ? host.slice(1, host.indexOf("]"))
    : bareIpv6
    ? host
    : host.replace(/:\d+$/, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a `WWW-Authenticate` header value (one challenge: scheme + key="value" params). */
export function parseChallenge(header: string): Challenge {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!m) return { scheme: "", params: {} };
  const params: Record<string, string> = {};
  for (const p of m[2].matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3];
  }
  return { scheme: m[1].toLowerCase(), params };
}

/** Pull-side client of one repository on one registry. */
export class RegistryClient {
  readonly registry: string;
  readonly repository: string;
  readonly #base: string;
  readonly #options: RegistryClientOptions;
  #authorization: string | undefined;

  constructor(registry: string, repository: string, options: RegistryClientOptions = {}) {
    this.registry = registry;
    this.repository = repository;
    this.#options = options;
    const host = registry === "docker.io" ? DOCKER_HUB_API_HOST : registry;
    const plain = isLoopbackHost(host) || (options.insecureRegistries ?? []).includes(registry);
    this.#base = `${plain ? "http" : "https"}://${host}/v2/${repository}`;
  }

  /** Fetches the manifest or index that `reference` (a tag or digest) names, verifying its digest. */
  async getManifest(reference: string): Promise<FetchedManifest> {
    const res = await this.#get(`/manifests/${reference}`, { accept: MANIFEST_ACCEPT });
    const length = Number(res.headers.get("content-length") ?? "0");
    if (length > MAX_MANIFEST_BYTES) {
      await res.body?.cancel();
      throw new ValidationError("image", `manifest ${reference} is too large (${length} bytes)`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const digest = `sha256:${await sha256Hex(bytes)}`;
    const claimed = res.headers.get("docker-content-digest");
    if (reference.startsWith("sha256:") && reference !== digest) {
      throw new ValidationError("image", `manifest ${reference} has digest ${digest}: corrupted`);
    }
    if (claimed && claimed.startsWith("sha256:") && claimed !== digest) {
      throw new ValidationError("image", `registry claims digest ${claimed}, content is ${digest}`);
    }
    const type = res.headers.get("content-type")?.split(";")[0].trim() ?? "";
    const mediaType = type !== "" && type !== "application/json"
      ? type
      : (JSON.parse(new TextDecoder().decode(bytes)).mediaType ?? "");
    return { mediaType, digest, size: bytes.byteLength, bytes };
  }

  /** Starts downloading blob `digest`; the caller consumes (and verifies) the body. */
  async getBlob(digest: string): Promise<Response> {
    return await this.#get(`/blobs/${digest}`, {});
  }

  async #get(path: string, headers: Record<string, string>): Promise<Response> {
    const url = this.#base + path;
    let res = await this.#fetch(url, headers);
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers.get("www-authenticate") ?? "");
      await res.body?.cancel();
      this.#authorization = await this.#authorize(challenge);
      res = await this.#fetch(url, headers);
    }
    if (res.ok) return res;
    await res.body?.cancel();
    // The reference as users write it: repo:tag, or repo@digest (a digest has a colon).
    const ref = path.replace(/^\/(manifests|blobs)\//, "");
    const what = `${this.registry}/${this.repository}${ref.includes(":") ? "@" : ":"}${ref}`;
    switch (res.status) {
      case 401:
        throw new UnauthenticatedError(
          this.#options.credentials
            ? `registry ${this.registry} rejected the credentials of "${this.#options.credentials.username}" for ${what}`
            : `registry ${this.registry} requires credentials for ${what}`,
        );
      case 403:
        throw new PermissionDeniedError(`registry ${this.registry} denied access to ${what}`);
      case 404:
        throw new NotFoundError("image", what);
      case 429:
      case 502:
      case 503:
      case 504:
        throw new UnavailableError(`registry ${this.registry} answered ${res.status} for ${what}`);
      default:
        throw new WarrenError(
          "internal",
          `registry ${this.registry} answered ${res.status} for ${what}`,
        );
    }
  }

  async #fetch(url: string, headers: Record<string, string>): Promise<Response> {
    const h = new Headers(headers);
    if (this.#authorization) h.set("authorization", this.#authorization);
    const timeout = AbortSignal.timeout(this.#options.requestTimeoutMs ?? 30_000);
    try {
      return await fetch(url, { headers: h, signal: timeout });
    } catch (err) {
      throw new UnavailableError(`cannot reach registry ${this.registry} (${url}): ${err}`, {
        cause: err,
      });
    }
  }

  /** Turns a 401 challenge into an Authorization header value, fetching a token if needed. */
  async #authorize(challenge: Challenge): Promise<string> {
    const creds = this.#options.credentials;
    if (challenge.scheme === "basic") {
      if (!creds) throw new UnauthenticatedError(`registry ${this.registry} requires credentials`);
      this.#assertSafeForSecrets(this.#base);
      return `Basic ${btoa(`${creds.username}:${creds.password}`)}`;
    }
    if (challenge.scheme !== "bearer" || !challenge.params.realm) {
      throw new UnauthenticatedError(
        `registry ${this.registry} asked for unsupported auth "${challenge.scheme || "(none)"}"`,
      );
    }
    const realm = new URL(challenge.params.realm);
    if (challenge.params.service) realm.searchParams.set("service", challenge.params.service);
    realm.searchParams.set("scope", challenge.params.scope ?? `repository:${this.repository}:pull`);
    const headers = new Headers();
    if (creds) {
      this.#assertSafeForSecrets(realm.href);
      headers.set("authorization", `Basic ${btoa(`${creds.username}:${creds.password}`)}`);
    }
    let res: Response;
    try {
      res = await fetch(realm, {
        headers,
        signal: AbortSignal.timeout(this.#options.requestTimeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new UnavailableError(`cannot reach token service ${realm.origin}: ${err}`, {
        cause: err,
      });
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new UnauthenticatedError(
        creds
          ? `token service ${realm.origin} rejected the credentials of "${creds.username}" for ${this.registry}`
          : `registry ${this.registry} requires credentials (token service ${realm.origin} refused anonymous access)`,
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new UnavailableError(`token service ${realm.origin} answered ${res.status}`);
    }
    const body = await res.json() as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new UnauthenticatedError(`token service ${realm.origin} returned no token`);
    return `Bearer ${token}`;
  }

  #assertSafeForSecrets(url: string): void {
    const u = new URL(url);
    if (u.protocol === "https:" || isLoopbackHost(u.host)) return;
    if ((this.#options.insecureRegistries ?? []).includes(u.host)) return;
    throw new PermissionDeniedError(
      `refusing to send credentials for ${this.registry} over plain HTTP to ${u.host}`,
    );
  }
}
