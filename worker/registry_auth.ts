/**
 * Registry logins kept in secrets (ServiceSpec.registryAuthSecret): the worker reads the one a
 * task's service names when it pulls the task's image. Accepted forms: JSON
 * `{"username": "...", "password": "..."}`, Docker's `{"auth": "<base64 user:password>"}`, or
 * the text `username:password`.
 * @module
 */
import { ValidationError } from "../proto/errors.ts";
import { decodeBase64 } from "../proto/schema/mod.ts";
import type { RegistryAuth } from "../runtime/runtime.ts";

/** Parses a registry login secret's data. Throws ValidationError naming the secret. */
export function parseRegistryAuth(data: Uint8Array, secretName: string): RegistryAuth {
  const text = new TextDecoder().decode(data).trim();
  const bad = (why: string) =>
    new ValidationError(
      "registryAuthSecret",
      `secret "${secretName}" ${why}: expected {"username","password"} JSON, ` +
        `{"auth": base64 of user:password}, or user:password`,
    );
  let pair = text;
  if (text.startsWith("{")) {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(text);
    } catch {
      throw bad("is not valid JSON");
    }
    if (typeof j.username === "string" && typeof j.password === "string") {
      return { username: j.username, password: j.password };
    }
    if (typeof j.auth !== "string") throw bad("has neither username/password nor auth");
    try {
      pair = new TextDecoder().decode(decodeBase64(j.auth));
    } catch {
      throw bad("has an auth field that is not base64");
    }
  }
  const i = pair.indexOf(":");
  if (i <= 0) throw bad("is not a login");
  return { username: pair.slice(0, i), password: pair.slice(i + 1) };
}
