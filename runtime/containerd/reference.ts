/**
 * Image references (`[registry/]repository[:tag][@digest]`) as the Docker/OCI tooling spells them,
 * parsed into what the OCI distribution API needs.
 */
import { ValidationError } from "../../proto/errors.ts";

/** A parsed image reference. */
export interface ImageReference {
  /** Registry host[:port] as written, e.g. `127.0.0.1:5000`; `docker.io` when omitted. */
  registry: string;
  /** Repository path, e.g. `warren/http` or `library/busybox`. */
  repository: string;
  /** Tag; `latest` when neither tag nor digest was given. */
  tag?: string;
  /** Manifest digest (`sha256:<hex>`) when pinned. */
  digest?: string;
  /** The canonical full name, e.g. `127.0.0.1:5000/warren/http:v1`; used as the image name. */
  name: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*|\[[0-9a-fA-F:.]+\])(?::\d+)?$/;

/** The registry that `docker.io` names resolve to for the distribution API. */
export const DOCKER_HUB_API_HOST = "registry-1.docker.io";

/**
 * Parses `ref` (e.g. `127.0.0.1:5000/warren/http:v1`, `busybox`, `repo@sha256:...`).
 * @throws ValidationError naming `field` when the reference is malformed.
 */
export function parseReference(ref: string, field = "image"): ImageReference {
  let rest = ref.trim();
  if (rest === "") throw new ValidationError(field, "image reference is empty");
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) {
      throw new ValidationError(field, `"${ref}" has an invalid digest (want sha256:<64 hex>)`);
    }
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new ValidationError(field, `"${ref}" has an invalid tag "${tag}"`);
  }
  let registry = "docker.io";
  const parts = rest.split("/");
  const first = parts[0];
  if (
    parts.length > 1 &&
    (first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("["))
  ) {
    registry = first;
    parts.shift();
    if (!HOST.test(registry)) {
      throw new ValidationError(field, `"${ref}" has an invalid registry host "${registry}"`);
    }
  }
  if (registry === "docker.io" && parts.length === 1) parts.unshift("library");
  for (const c of parts) {
    if (!COMPONENT.test(c)) {
      throw new ValidationError(
        field,
        `"${ref}" has an invalid repository component "${c}" (lowercase letters, digits, . _ -)`,
      );
    }
  }
  const repository = parts.join("/");
  if (tag === undefined && digest === undefined) tag = "latest";
  const name = `${registry}/${repository}${tag !== undefined ? `:${tag}` : ""}${
    digest !== undefined ? `@${digest}` : ""
  }`;
  return { registry, repository, tag, digest, name };
}
