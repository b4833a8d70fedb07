/**
 * Reads an image's /etc/passwd and /etc/group, which resolving a container's user needs
 * (user.ts), from its unpacked layers.
 *
 * A read-only View snapshot of the image's top chain ID gives the mounts of its merged root
 * filesystem: for a one-layer image a bind mount of the layer's directory, which is read in
 * place; otherwise an overlay of the layer directories (or whatever the snapshotter answers),
 * mounted read-only on a temporary directory, read, and unmounted. containerd's `WithUser` does
 * the same with a temporary mount. The view lives under a short lease, so a crash in between
 * leaves nothing that containerd does not collect.
 *
 * Paths are resolved inside the root: an absolute symlink in the image (say /etc/passwd →
 * /usr/lib/passwd) points into the image, never at the host's file.
 */
import { ValidationError } from "../../proto/errors.ts";
import type { ContainerdClient } from "./client.ts";
import { withLease } from "./lease.ts";
import { runCommand } from "./_command.ts";
import type { EtcFiles } from "./user.ts";

/** One mount as containerd describes it. */
export interface RootfsMount {
  type: string;
  source: string;
  options: string[];
}

const MAX_SYMLINKS = 40;
/** mount(2) copies at most a page of option data. */
const MOUNT_DATA_MAX = 4000;

/**
 * Resolves `path` inside `root` like a chroot would: `..` stops at the root and symlinks are
 * followed relative to it. @returns the host path, or undefined when a component is missing
 */
export async function resolveInRoot(root: string, path: string): Promise<string | undefined> {
  const done: string[] = [];
  const rest = path.split("/").filter((c) => c !== "" && c !== ".").reverse();
  let hops = 0;
  while (rest.length > 0) {
    const c = rest.pop()!;
    if (c === "..") {
      done.pop();
      continue;
    }
    const host = `${root}/${[...done, c].join("/")}`;
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(host);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
        return undefined;
      }
      throw err;
    }
    if (!info.isSymlink) {
      done.push(c);
      continue;
    }
    if (++hops > MAX_SYMLINKS) return undefined; // a loop: ELOOP for a process too
    const target = await Deno.readLink(host);
    if (target.startsWith("/")) done.length = 0;
    rest.push(...target.split("/").filter((x) => x !== "" && x !== ".").reverse());
  }
  return `${root}/${done.join("/")}`;
}

/** Largest /etc/passwd or /etc/group read from an image. */
const MAX_ETC_BYTES = 4 << 20;

async function readInRoot(root: string, path: string): Promise<string | undefined> {
  const host = await resolveInRoot(root, path);
  if (host === undefined) return undefined;
  try {
    const info = await Deno.stat(host);
    if (!info.isFile) return undefined;
    // An image is untrusted input: a huge /etc/passwd must not fill the worker's memory.
    if (info.size > MAX_ETC_BYTES) {
      throw new ValidationError(
        "user",
        `${path} in the image is larger than ${MAX_ETC_BYTES} bytes`,
      );
    }
    return await Deno.readTextFile(host);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

async function readEtc(root: string): Promise<EtcFiles> {
  const [passwd, group] = await Promise.all([
    readInRoot(root, "/etc/passwd"),
    readInRoot(root, "/etc/group"),
  ]);
  return { ...(passwd !== undefined ? { passwd } : {}), ...(group !== undefined ? { group } : {}) };
}

/**
 * The `-o` data and working directory of an overlay mount: when the lower directories make the
 * data longer than a page, they are given relative to their common parent (as containerd does).
 */
export function compactOverlayOptions(options: readonly string[]): { data: string; cwd?: string } {
  const data = options.join(",");
  if (data.length <= MOUNT_DATA_MAX) return { data };
  const lower = options.find((o) => o.startsWith("lowerdir="));
  if (!lower || options.some((o) => o.startsWith("upperdir=") || o.startsWith("workdir="))) {
    return { data };
  }
  const dirs = lower.slice("lowerdir=".length).split(":");
  let common = dirs[0].slice(0, dirs[0].lastIndexOf("/"));
  while (common !== "" && !dirs.every((d) => d.startsWith(`${common}/`))) {
    common = common.slice(0, common.lastIndexOf("/"));
  }
  if (common === "") return { data };
  const rel = `lowerdir=${dirs.map((d) => d.slice(common.length + 1)).join(":")}`;
  return { data: options.map((o) => (o === lower ? rel : o)).join(","), cwd: common };
}

/** Mounts `mounts` read-only, in order, on a temporary directory, runs `fn` on it, unmounts. */
async function withReadonlyMount<T>(
  mounts: readonly RootfsMount[],
  fn: (root: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "warren-rootfs-" });
  let mounted = 0;
  try {
    for (const m of mounts) {
      const options = [...m.options.filter((o) => o !== "rw"), "ro"];
      if (m.type === "bind") {
        await runCommand("mount", ["-o", options.join(","), m.source, dir]);
      } else {
        const { data, cwd } = compactOverlayOptions(options);
        await runCommand("mount", ["-t", m.type, "-o", data, m.source, dir], cwd);
      }
      mounted++;
    }
    return await fn(dir);
  } finally {
    for (; mounted > 0; mounted--) await runCommand("umount", [dir]).catch(() => {});
    await Deno.remove(dir).catch(() => {});
  }
}

/** Reads /etc/passwd and /etc/group from a root filesystem given by its mounts. */
export async function readEtcFromMounts(mounts: readonly RootfsMount[]): Promise<EtcFiles> {
  if (mounts.length === 0) throw new ValidationError("rootfs", "the snapshot has no mounts");
  const only = mounts[0];
  // One layer: its directory is the whole root; no mount needed.
  if (mounts.length === 1 && only.type === "bind") return await readEtc(only.source);
  return await withReadonlyMount(mounts, readEtc);
}

/**
 * Reads /etc/passwd and /etc/group of the image whose top layer has chain ID `chainId`.
 * @throws containerd's not_found when the snapshotter has no such snapshot (the image was removed)
 */
export async function readImageEtc(
  client: ContainerdClient,
  snapshotter: string,
  chainId: string,
): Promise<EtcFiles> {
  return await withLease(client, async (lease) => {
    const key = `warren-etc-${crypto.randomUUID()}`;
    const { mounts } = await client.snapshots.view(
      { snapshotter, key, parent: chainId, labels: {} },
      { lease },
    );
    try {
      return await readEtcFromMounts(mounts);
    } finally {
      await client.snapshots.remove({ snapshotter, key }).catch(() => {});
    }
  }, { expireAfterMs: 5 * 60_000 });
}
