/**
 * Secrets for a container, kept in memory only.
 *
 * Each container with secrets gets its own small tmpfs mounted on the host at
 * `<root>/<containerId>` (mode 0700, nosuid, nodev, noexec). The files are written into it with
 * their mode (0400 by default) and owner, the tmpfs is remounted read-only, and the directory is
 * bind-mounted read-only at /run/secrets in the container.
 *
 * Why a host tmpfs and not a tmpfs mount in the container spec: runc creates a spec tmpfs inside
 * the container's mount namespace at start, when nothing outside can write to it any more, so
 * the files would have to be written by a process inside the container after it started. The host
 * tmpfs has the files in place before the first instruction runs, lives in RAM (never on a disk),
 * and `unmountSecrets` frees it, so nothing is left on the host after remove.
 */
import type { SecretFile } from "../runtime.ts";
import { runCommand as run } from "./_command.ts";

/** Where secrets appear inside the container. */
export const SECRETS_DESTINATION = "/run/secrets";

/** True when `dir` is a mount point (listed in /proc/self/mountinfo). */
export async function isMountPoint(dir: string): Promise<boolean> {
  const info = await Deno.readTextFile("/proc/self/mountinfo");
  // Field 5 is the mount point; spaces in it are escaped as \040.
  const escaped = dir.replaceAll(" ", "\\040");
  return info.split("\n").some((l) => l.split(" ")[4] === escaped);
}

/**
 * Mounts a tmpfs at `dir`, writes `secrets` into it and makes it read-only. A file without its
 * own uid/gid is owned by `owner` (the container's user; default root). On failure the tmpfs is
 * unmounted again.
 */
export async function mountSecrets(
  dir: string,
  secrets: readonly SecretFile[],
  owner: { uid: number; gid: number } = { uid: 0, gid: 0 },
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const total = secrets.reduce((n, s) => n + s.data.byteLength + 4096, 0);
  const sizeBytes = Math.ceil((total + 64 * 1024) / 4096) * 4096;
  await run("mount", [
    "-t",
    "tmpfs",
    "-o",
    `size=${sizeBytes},mode=0700,nosuid,nodev,noexec`,
    "warren-secrets",
    dir,
  ]);
  try {
    await Deno.chmod(dir, 0o755); // processes running as non-root must reach their files
    for (const s of secrets) {
      const path = `${dir}/${s.name}`;
      await Deno.writeFile(path, s.data, { mode: 0o600, createNew: true });
      await Deno.chown(path, s.uid ?? owner.uid, s.gid ?? owner.gid);
      await Deno.chmod(path, s.mode ?? 0o400); // explicit: the umask does not apply
    }
    await run("mount", ["-o", "remount,ro", dir]);
  } catch (err) {
    await unmountSecrets(dir).catch(() => {});
    throw err;
  }
}

/** Unmounts the secrets tmpfs at `dir` (freeing its memory) and removes the directory. */
export async function unmountSecrets(dir: string): Promise<void> {
  // Most containers have no secrets: no directory, so no mount table to read.
  if (!(await Deno.lstat(dir).then(() => true, () => false))) return;
  if (await isMountPoint(dir)) await run("umount", [dir]);
  await Deno.remove(dir, { recursive: true }).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
}
