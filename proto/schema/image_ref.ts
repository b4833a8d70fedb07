/**
 * Container image references (`[registry[:port]/]path[:tag][@digest]`), following the grammar of
 * the distribution project's `reference` package, so whatever Warren accepts a registry accepts.
 */
import { z } from "zod";

/** The parts of an image reference. */
export interface ImageRef {
  /** Registry host with optional port, e.g. `registry.local:5000`; undefined for Docker Hub. */
  domain?: string;
  /** Repository path, e.g. `library/busybox` or `team/web`. */
  path: string;
  /** Tag, e.g. `1.36`; undefined when absent. */
  tag?: string;
  /** Content digest, e.g. `sha256:<64 hex>`; undefined when absent. */
  digest?: string;
}

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]{1,5})?$`);
const IPV6_DOMAIN = /^\[[0-9A-Fa-f:]+\](?::[0-9]{1,5})?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;

/** Longest accepted reference name (registry + path), as in the reference grammar. */
export const MAX_IMAGE_NAME_LENGTH = 255;

/**
 * Parses an image reference; returns a reason string instead of throwing so schemas can report it.
 */
export function parseImageRef(ref: string): ImageRef | string {
  if (ref.length === 0) return "must not be empty";
  if (ref.length > 512) return "must be at most 512 characters";
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return `digest "${digest}" is malformed (expected algorithm:hex)`;
    if (digest.startsWith("sha256:") && !SHA256.test(digest)) {
      return `digest "${digest}" must be sha256: followed by 64 lowercase hex digits`;
    }
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > rest.lastIndexOf("/")) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) {
      return `tag "${tag}" is malformed (1-128 of [A-Za-z0-9_.-], not starting with '.' or '-')`;
    }
  }
  if (rest.length === 0) return "has no repository name";
  if (rest.length > MAX_IMAGE_NAME_LENGTH) {
    return `repository name must be at most ${MAX_IMAGE_NAME_LENGTH} characters`;
  }
  const parts = rest.split("/");
  let domain: string | undefined;
  const first = parts[0]!;
  if (
    parts.length > 1 &&
    (first.includes(".") || first.includes(":") || first === "localhost" ||
      first !== first.toLowerCase())
  ) {
    domain = parts.shift();
    if (!DOMAIN.test(first) && !IPV6_DOMAIN.test(first)) return `registry "${first}" is malformed`;
    const port = /:(\d+)$/.exec(first);
    if (port && (Number(port[1]) < 1 || Number(port[1]) > 65535)) {
      return `registry port in "${first}" must be in 1..65535`;
    }
  }
  for (const part of parts) {
    if (!PATH_COMPONENT.test(part)) {
      return `repository path component "${part}" must be lowercase letters and digits separated by '.', '_', '__' or '-'`;
    }
  }
  const out: ImageRef = { path: parts.join("/") };
  if (domain !== undefined) out.domain = domain;
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

/** Formats parts back into a reference string. */
export function formatImageRef(ref: ImageRef): string {
  return `${ref.domain ? ref.domain + "/" : ""}${ref.path}${ref.tag ? ":" + ref.tag : ""}${
    ref.digest ? "@" + ref.digest : ""
  }`;
}

/**
 * Fills in Docker's defaults: registry `docker.io`, `library/` for single-component Hub paths,
 * tag `latest` when neither tag nor digest is given.
 */
export function normalizeImageRef(
  ref: ImageRef,
): Required<Pick<ImageRef, "domain" | "path">> & ImageRef {
  const domain = ref.domain ?? "docker.io";
  const path = domain === "docker.io" && !ref.path.includes("/") ? `library/${ref.path}` : ref.path;
  const out: Required<Pick<ImageRef, "domain" | "path">> & ImageRef = { domain, path };
  if (ref.tag !== undefined) out.tag = ref.tag;
  else if (ref.digest === undefined) out.tag = "latest";
  if (ref.digest !== undefined) out.digest = ref.digest;
  return out;
}

/** An image reference string, validated with {@link parseImageRef}. */
export const ImageRefSchema = z.string().superRefine((value, ctx) => {
  const parsed = parseImageRef(value);
  if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: `image ${parsed}` });
});
