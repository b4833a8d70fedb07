/**
 * Resolving a container's `user` (`user[:group]`, each a name or a number) against the image's
 * /etc/passwd and /etc/group, as Docker does (runc's `user.GetExecUser`):
 *
 * - the user is looked up by name, or by uid when numeric; a match gives the uid and the primary
 *   gid, a numeric uid without an entry runs with gid 0, an unknown name is an error;
 * - an explicit group (name or gid) replaces the primary gid; an unknown group name is an error;
 * - without an explicit group, a user found in /etc/passwd also gets the groups that list it as
 *   a member in /etc/group (supplementary gids), root included;
 * - an empty user means root, and so does `root` in an image without a root entry (a scratch
 *   image has no /etc/passwd; Docker refuses the name there, Warren always accepted it).
 *
 * Pure: the caller reads the two files from the container's rootfs (see rootfs_etc.ts).
 */
import { ValidationError } from "../../proto/errors.ts";

/** The process identity of an OCI spec. */
export interface ProcessUser {
  uid: number;
  gid: number;
  /** Supplementary groups; absent when none. */
  additionalGids?: number[];
}

/** Contents of the rootfs's /etc/passwd and /etc/group; undefined when the file is missing. */
export interface EtcFiles {
  passwd?: string;
  group?: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 31 - 1;
const NUMERIC = /^\d+$/;

function parseId(s: string): number | undefined {
  if (!NUMERIC.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_ID ? n : undefined;
}

/** Entries of an /etc/passwd text; malformed lines are skipped, as libc does. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(":");
    if (f.length < 4 || f[0] === "" || f[0].startsWith("#")) continue;
    const uid = parseId(f[2]);
    const gid = parseId(f[3]);
    if (uid !== undefined && gid !== undefined) out.push({ name: f[0], uid, gid });
  }
  return out;
}

/** Entries of an /etc/group text; malformed lines are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(":");
    if (f.length < 3 || f[0] === "" || f[0].startsWith("#")) continue;
    const gid = parseId(f[2]);
    if (gid === undefined) continue;
    out.push({ name: f[0], gid, members: (f[3] ?? "").split(",").filter((m) => m !== "") });
  }
  return out;
}

/**
 * Resolves `user` (see the module doc) with the rootfs's `etc` files. `image` names the image in
 * errors.
 * @throws ValidationError (field `user`) for a malformed value or a name the files do not have
 */
export function resolveUser(user: string, etc: EtcFiles, image = "the image"): ProcessUser {
  const fail = (reason: string) => new ValidationError("user", `${reason} (image ${image})`);
  const parts = user.split(":");
  if (parts.length > 2) throw fail(`"${user}" must be user[:group]`);
  const userPart = parts[0] === "" ? "0" : parts[0];
  const passwd = parsePasswd(etc.passwd ?? "");
  const uidArg = parseId(userPart) ??
    (userPart === "root" && !passwd.some((p) => p.name === "root") ? 0 : undefined);
  const groupPart = parts[1];
  if (groupPart === "") throw fail(`"${user}" has an empty group`);

  if (uidArg === undefined && NUMERIC.test(userPart)) throw fail(`uid ${userPart} is too large`);
  const entry = passwd.find((p) => uidArg === undefined ? p.name === userPart : p.uid === uidArg);
  if (!entry && uidArg === undefined) {
    throw fail(
      `no user "${userPart}" in /etc/passwd${etc.passwd === undefined ? " (file missing)" : ""}`,
    );
  }
  // Docker: a numeric uid the image does not know runs with the root group.
  const resolved: ProcessUser = { uid: entry?.uid ?? uidArg!, gid: entry?.gid ?? 0 };
  const groups = parseGroup(etc.group ?? "");

  if (groupPart !== undefined) {
    const gidArg = parseId(groupPart);
    if (gidArg === undefined && NUMERIC.test(groupPart)) {
      throw fail(`gid ${groupPart} is too large`);
    }
    if (gidArg !== undefined) resolved.gid = gidArg;
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) {
        throw fail(
          `no group "${groupPart}" in /etc/group${
            etc.group === undefined ? " (file missing)" : ""
          }`,
        );
      }
      resolved.gid = g.gid;
    }
    return resolved;
  }
  // Supplementary groups come with the implicit form only, as in runc.
  if (entry) {
    const extra = groups.filter((g) => g.members.includes(entry.name)).map((g) => g.gid);
    if (extra.length > 0) resolved.additionalGids = [...new Set(extra)];
  }
  return resolved;
}
