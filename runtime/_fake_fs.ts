/**
 * The fake runtime's in-memory file system and the few busybox commands its `exec` understands
 * (`echo`, `cat`, `stat -c %a`, `tee`, `ls`, `true`, `false`), with busybox's output and exit codes,
 * so the conformance suite can use the same commands against the fake and a real container.
 *
 * A container sees four kinds of storage: its own rootfs (copied from the image's files),
 * bind-mounted host directories (the fake "host" map, shared by the runtime's containers so a
 * volume outlives a container), tmpfs mounts (empty, private to the container), and the
 * read-only secrets at /run/secrets.
 */
import type { VolumeMount } from "./runtime.ts";

/** One file. */
export interface FakeFile {
  data: Uint8Array;
  mode: number;
}

/** Where a path inside a container resolves to. */
interface Mount {
  destination: string;
  /** Host path prefix for binds; undefined for the secrets tmpfs. */
  source?: string;
  /** The files of a tmpfs mount. */
  tmpfs?: Map<string, FakeFile>;
  readonly: boolean;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The view of one container: rootfs + mounts. */
export class FakeContainerFs {
  readonly #rootfs: Map<string, FakeFile>;
  readonly #host: Map<string, FakeFile>;
  readonly #secrets: Map<string, FakeFile>;
  readonly #mounts: Mount[];
  readonly #readonlyRoot: boolean;

  constructor(input: {
    rootfs: Map<string, FakeFile>;
    host: Map<string, FakeFile>;
    secrets: Map<string, FakeFile>;
    mounts: readonly VolumeMount[];
    readonlyRoot: boolean;
  }) {
    this.#rootfs = input.rootfs;
    this.#host = input.host;
    this.#secrets = input.secrets;
    this.#readonlyRoot = input.readonlyRoot;
    this.#mounts = [
      ...input.mounts.map((m): Mount =>
        m.type === "tmpfs"
          ? {
            destination: trimSlash(m.destination),
            tmpfs: new Map(),
            readonly: m.readonly ?? false,
          }
          : {
            destination: trimSlash(m.destination),
            source: trimSlash(m.source),
            readonly: m.readonly ?? false,
          }
      ),
      { destination: "/run/secrets", readonly: true },
    ].sort((a, b) => b.destination.length - a.destination.length); // longest prefix wins
  }

  #resolve(path: string): { store: Map<string, FakeFile>; key: string; readonly: boolean } {
    const p = normalize(path);
    for (const m of this.#mounts) {
      if (p === m.destination || p.startsWith(`${m.destination}/`)) {
        const rest = p.slice(m.destination.length);
        if (m.tmpfs) return { store: m.tmpfs, key: rest.replace(/^\//, ""), readonly: m.readonly };
        if (m.source === undefined) {
          return { store: this.#secrets, key: rest.replace(/^\//, ""), readonly: true };
        }
        return { store: this.#host, key: `${m.source}${rest}`, readonly: m.readonly };
      }
    }
    return { store: this.#rootfs, key: p, readonly: this.#readonlyRoot };
  }

  read(path: string): FakeFile | undefined {
    const r = this.#resolve(path);
    return r.store.get(r.key);
  }

  /** Writes a file. @returns an error message, or undefined on success. */
  write(path: string, data: Uint8Array, mode = 0o644): string | undefined {
    const r = this.#resolve(path);
    if (r.readonly) return "Read-only file system";
    r.store.set(r.key, { data, mode: r.store.get(r.key)?.mode ?? mode });
    return undefined;
  }

  /** Names directly under a directory (files only; directories are implied by paths). */
  list(dir: string): string[] {
    const r = this.#resolve(dir);
    const prefix = r.key === "" ? "" : `${trimSlash(r.key)}/`;
    const names = new Set<string>();
    for (const key of r.store.keys()) {
      if (key.startsWith(prefix)) names.add(key.slice(prefix.length).split("/")[0]);
    }
    return [...names].sort();
  }
}

function trimSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, "") : p;
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** Output of one fake command. */
export interface FakeExecOutput {
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

/** Runs one of the supported busybox commands against `fs`. Unknown commands exit 127. */
export function runBuiltin(
  fs: FakeContainerFs,
  cmd: readonly string[],
  stdin: Uint8Array,
): FakeExecOutput {
  const out: Uint8Array[] = [];
  const err: string[] = [];
  const done = (exitCode: number): FakeExecOutput => ({
    exitCode,
    stdout: concat(out),
    stderr: enc.encode(err.join("")),
  });
  const [name, ...args] = cmd;
  switch (name) {
    case "true":
      return done(0);
    case "false":
      return done(1);
    case "echo":
      out.push(enc.encode(`${args.join(" ")}\n`));
      return done(0);
    case "cat": {
      let code = 0;
      for (const p of args) {
        const f = fs.read(p);
        if (f) out.push(f.data);
        else {
          err.push(`cat: can't open '${p}': No such file or directory\n`);
          code = 1;
        }
      }
      if (args.length === 0) out.push(stdin);
      return done(code);
    }
    case "stat": {
      if (args[0] !== "-c" || args.length < 3) {
        err.push("stat: only -c FORMAT FILE... is supported by the fake\n");
        return done(1);
      }
      let code = 0;
      for (const p of args.slice(2)) {
        const f = fs.read(p);
        if (!f) {
          err.push(`stat: can't stat '${p}': No such file or directory\n`);
          code = 1;
          continue;
        }
        out.push(enc.encode(`${formatStat(args[1], p, f)}\n`));
      }
      return done(code);
    }
    case "tee": {
      out.push(stdin);
      let code = 0;
      for (const p of args) {
        const e = fs.write(p, stdin);
        if (e) {
          err.push(`tee: ${p}: ${e}\n`);
          code = 1;
        }
      }
      return done(code);
    }
    case "ls": {
      const names = fs.list(args[0] ?? "/");
      if (names.length) out.push(enc.encode(`${names.join("\n")}\n`));
      return done(0);
    }
    default:
      err.push(`${name}: not found\n`);
      return done(127);
  }
}

function formatStat(format: string, path: string, f: FakeFile): string {
  return format.replace(/%([a-zA-Z%])/g, (_, c: string) => {
    switch (c) {
      case "a":
        return (f.mode & 0o7777).toString(8);
      case "s":
        return String(f.data.byteLength);
      case "n":
        return path;
      case "%":
        return "%";
      default:
        return `?${c}`;
    }
  });
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.byteLength;
  }
  return out;
}

/** UTF-8 encode / decode helpers shared by the fake. */
export const text = { enc: (s: string) => enc.encode(s), dec: (b: Uint8Array) => dec.decode(b) };
