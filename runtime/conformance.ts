/**
 * The one conformance suite every {@link Runtime} passes: the fake one in unit tests
 * (runtime/fake_test.ts) and the containerd one against a real containerd and registry
 * (tests/integration/runtime_containerd_test.ts). Each case is a `t.step` with its own deadline,
 * so a runtime that hangs fails instead of blocking the test run.
 *
 * The images are described by behaviour (see {@link ConformanceImages}) so the fake can mimic
 * the fixture images, and exec uses only busybox commands the fake also understands.
 */
import assert from "node:assert/strict";
import {
  AlreadyExistsError,
  DeadlineExceededError,
  NotFoundError,
  UnauthenticatedError,
} from "../proto/errors.ts";
import {
  type ContainerConfig,
  Labels,
  type LogEntry,
  type Platform,
  type RegistryAuth,
  type Runtime,
  type RuntimeEvent,
} from "./runtime.ts";

/** The images the suite runs, by behaviour. */
export interface ConformanceImages {
  /**
   * Prints `warren-test-exit stdout code=<n> ...` to stdout and `warren-test-exit stderr
   * code=<n>` to stderr, sleeps WARREN_SLEEP_MS, exits WARREN_EXIT_CODE; exits 143 at once on
   * SIGTERM. Env variables set at prepare override the image's.
   */
  exit: string;
  /** Runs until killed, ignoring SIGTERM (PID 1 without a handler); has busybox for exec. */
  server: string;
  /** A multi-arch index of amd64 and arm64 manifests, with their digests. */
  multiArch: { ref: string; manifestDigests: Record<Platform["architecture"], string> };
  /** An image in a repository that needs these credentials (bearer token flow for real). */
  private: { ref: string; credentials: RegistryAuth };
}

/** Options of {@link runRuntimeConformance}. */
export interface ConformanceOptions {
  images: ConformanceImages;
  /** The node's platform, which a multi-arch pull must pick. */
  platform: Platform;
  /** An empty host directory for the volume case (absolute path). */
  makeVolumeDir(): Promise<string>;
  /** Whether the host still holds the secrets of container `id`. */
  hostHasSecrets(runtime: Runtime, id: string): Promise<boolean>;
  /** Deadline of each case; default 60 s. */
  stepTimeoutMs?: number;
}

type Case = (rt: Runtime, h: Helpers) => Promise<void>;

interface Helpers {
  opts: ConformanceOptions;
  /** Prepares (pulling first) a container that is removed after the case. */
  create(image: string, config?: Partial<ContainerConfig>): Promise<string>;
}

const dec = new TextDecoder();
const enc = new TextEncoder();

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  let s = "";
  for await (const chunk of stream) s += dec.decode(chunk, { stream: true });
  return s;
}

function uniqueId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

const CASES: Record<string, Case> = {
  "pull returns the image and its platform": async (rt, h) => {
    const info = await rt.pull(h.opts.images.exit);
    assert.equal(info.ref, h.opts.images.exit);
    assert.match(info.digest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(info.platform, h.opts.platform);
    assert.ok(info.sizeBytes > 0);
  },

  "pull of a multi-arch index picks the node's platform": async (rt, h) => {
    const { ref, manifestDigests } = h.opts.images.multiArch;
    const info = await rt.pull(ref);
    assert.equal(info.manifestDigest, manifestDigests[h.opts.platform.architecture]);
    assert.notEqual(info.digest, info.manifestDigest, "the reference names the index");
    const other = h.opts.platform.architecture === "amd64" ? "arm64" : "amd64";
    const foreign = await rt.pull(ref, { platform: { os: "linux", architecture: other } });
    assert.equal(foreign.manifestDigest, manifestDigests[other]);
  },

  "pull from a protected repository needs its credentials": async (rt, h) => {
    const { ref, credentials } = h.opts.images.private;
    await assert.rejects(rt.pull(ref), UnauthenticatedError);
    await assert.rejects(
      rt.pull(ref, { credentials: { ...credentials, password: "wrong" } }),
      UnauthenticatedError,
    );
    const info = await rt.pull(ref, { credentials });
    assert.equal(info.ref, ref);
  },

  "pull with ifMissing answers from the local store, without the registry": async (rt, h) => {
    const { ref, credentials } = h.opts.images.private;
    const pulled = await rt.pull(ref, { credentials });
    // Without credentials the registry would refuse: only the local store can answer.
    const local = await rt.pull(ref, { ifMissing: true });
    assert.equal(local.ref, ref);
    assert.equal(local.digest, pulled.digest);
    assert.equal(local.manifestDigest, pulled.manifestDigest);
    assert.equal(local.sizeBytes, pulled.sizeBytes);
    assert.deepEqual(local.config, pulled.config);
    assert.deepEqual(local.platform, h.opts.platform);
  },

  "prepare, start and wait report the exit code": async (rt, h) => {
    const id = await h.create(h.opts.images.exit, { env: ["WARREN_EXIT_CODE=3"] });
    assert.equal((await rt.inspect(id)).state, "created");
    const pid = await rt.start(id);
    assert.ok(pid > 0);
    const exit = await rt.wait(id);
    assert.equal(exit.exitCode, 3);
    assert.ok(exit.exitedAt instanceof Date);
    const st = await rt.inspect(id);
    assert.equal(st.state, "stopped");
    assert.equal(st.exitCode, 3);
    assert.equal((await rt.wait(id)).exitCode, 3, "wait after the exit answers at once");
  },

  "stop: SIGTERM ends a handling process, SIGKILL one that ignores it": async (rt, h) => {
    const handles = await h.create(h.opts.images.exit, { env: ["WARREN_SLEEP_MS=60000"] });
    await rt.start(handles);
    const t0 = Date.now();
    assert.equal((await rt.stop(handles, { gracePeriodMs: 20_000 }))?.exitCode, 143);
    assert.ok(Date.now() - t0 < 15_000, "a handled SIGTERM does not wait for the grace period");

    const ignores = await h.create(h.opts.images.server);
    await rt.start(ignores);
    const t1 = Date.now();
    const exit = await rt.stop(ignores, { gracePeriodMs: 300 });
    assert.equal(exit?.exitCode, 137);
    assert.ok(Date.now() - t1 >= 250, "the grace period was given");
    assert.equal((await rt.inspect(ignores)).state, "stopped");
    assert.equal((await rt.stop(ignores))?.exitCode, 137, "stopping again reports the exit");

    const never = await h.create(h.opts.images.exit);
    assert.equal(await rt.stop(never), undefined, "a never-started container has no exit");
  },

  "remove is idempotent and the container is gone": async (rt, h) => {
    const id = await h.create(h.opts.images.server);
    await rt.start(id);
    await rt.remove(id); // kills it too
    await rt.remove(id);
    await assert.rejects(rt.inspect(id), NotFoundError);
    assert.ok(!(await rt.list()).some((c) => c.id === id));
    await rt.remove(uniqueId("never-existed"));
  },

  "list finds Warren's containers by label": async (rt, h) => {
    const svc = uniqueId("svc");
    const a = await h.create(h.opts.images.exit, { labels: { [Labels.serviceId]: svc } });
    const b = await h.create(h.opts.images.exit, { labels: { [Labels.serviceId]: `${svc}x` } });
    const mine = await rt.list({ labels: { [Labels.serviceId]: svc } });
    assert.deepEqual(mine.map((c) => c.id), [a]);
    assert.equal(mine[0].labels[Labels.taskId], a);
    assert.equal(mine[0].state, "created");
    assert.equal(mine[0].image, h.opts.images.exit);
    const all = (await rt.list()).map((c) => c.id);
    assert.ok(all.includes(a) && all.includes(b));
  },

  "logs: both streams, tail, since, and follow ends at exit": async (rt, h) => {
    const id = await h.create(h.opts.images.exit, { env: ["WARREN_EXIT_CODE=0"] });
    await rt.start(id);
    await rt.wait(id);
    const byLine = (entries: LogEntry[], re: RegExp) => entries.find((e) => re.test(e.line));
    const entries = await collect(rt.logs(id, { follow: true }));
    const out = byLine(entries, /^warren-test-exit stdout code=0/);
    const err = byLine(entries, /^warren-test-exit stderr code=0$/);
    assert.ok(out && err, `both lines logged: ${JSON.stringify(entries)}`);
    assert.equal(out.stream, "stdout");
    assert.equal(err.stream, "stderr");
    assert.ok(out.ts instanceof Date && out.ts.getTime() > 0);
    assert.equal((await collect(rt.logs(id, { tail: 1 }))).length, 1);
    const future = new Date(Date.now() + 60_000);
    assert.deepEqual(await collect(rt.logs(id, { since: future })), []);

    const slow = await h.create(h.opts.images.exit, { env: ["WARREN_SLEEP_MS=700"] });
    await rt.start(slow);
    const followed = await collect(rt.logs(slow, { follow: true }));
    assert.ok(byLine(followed, /^warren-test-exit stdout/), "follow saw the output");
    assert.equal((await rt.inspect(slow)).state, "stopped", "follow ended at the exit");

    const running = await h.create(h.opts.images.server);
    await rt.start(running);
    const ac = new AbortController();
    const it = collect(rt.logs(running, { follow: true, signal: ac.signal }));
    setTimeout(() => ac.abort(), 200);
    await it; // an abort ends a follow of a running container
  },

  "exec returns output and exit code": async (rt, h) => {
    const id = await h.create(h.opts.images.server);
    await rt.start(id);
    assert.deepEqual(await rt.exec(id, { cmd: ["echo", "hello", "world"] }), {
      exitCode: 0,
      stdout: "hello world\n",
      stderr: "",
    });
    const missing = await rt.exec(id, { cmd: ["cat", "/no/such/file"] });
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /No such file or directory/);
    // As a shell and Docker answer: 127 when the executable is not there, the reason on stderr.
    const unknown = await rt.exec(id, { cmd: ["no-such-tool", "--help"] });
    assert.equal(unknown.exitCode, 127);
    assert.match(unknown.stderr, /no-such-tool/);
    const teed = await rt.exec(id, { cmd: ["tee", "/tmp/x"], stdin: "piped\n" });
    assert.deepEqual(teed, { exitCode: 0, stdout: "piped\n", stderr: "" });
    assert.equal((await rt.exec(id, { cmd: ["cat", "/tmp/x"] })).stdout, "piped\n");

    const session = await rt.execStream(id, { cmd: ["cat"] });
    const stdout = readAll(session.stdout);
    const stderr = readAll(session.stderr);
    const w = session.stdin.getWriter();
    await w.write(enc.encode("streamed\n"));
    await w.close();
    assert.equal(await session.exited, 0);
    assert.equal(await stdout, "streamed\n");
    assert.equal(await stderr, "");
  },

  "stats report memory of a running container": async (rt, h) => {
    const limit = 64 * 1024 * 1024;
    const id = await h.create(h.opts.images.server, { memoryBytesMax: limit });
    await rt.start(id);
    const s = await rt.stats(id);
    assert.ok(s.memoryBytes > 0, `memory ${s.memoryBytes}`);
    assert.ok(s.cpuUsageNs > 0, `cpu ${s.cpuUsageNs}`);
    assert.equal(s.memoryLimitBytes, limit);
  },

  "events report start and exit": async (rt, h) => {
    const id = await h.create(h.opts.images.exit, { env: ["WARREN_EXIT_CODE=5"] });
    const ac = new AbortController();
    const seen: RuntimeEvent[] = [];
    const done = (async () => {
      for await (const e of rt.events(ac.signal)) {
        if (e.id !== id) continue;
        seen.push(e);
        if (e.type === "exit") break;
      }
    })();
    await new Promise((r) => setTimeout(r, 100)); // let the subscription reach the runtime
    await rt.start(id);
    await done;
    ac.abort();
    assert.deepEqual(seen.map((e) => e.type), ["start", "exit"]);
    assert.equal(seen[1].exitCode, 5);
  },

  "secrets are in /run/secrets with mode 0400 and gone after remove": async (rt, h) => {
    const data = enc.encode(`s3cret-${crypto.randomUUID()}`);
    const id = await h.create(h.opts.images.server, {
      secrets: [{ name: "db_password", data }, { name: "api.key", data: enc.encode("k") }],
    });
    await rt.start(id);
    const cat = await rt.exec(id, { cmd: ["cat", "/run/secrets/db_password"] });
    assert.equal(cat.stdout, dec.decode(data));
    const mode = await rt.exec(id, { cmd: ["stat", "-c", "%a", "/run/secrets/db_password"] });
    assert.equal(mode.stdout.trim(), "400");
    const write = await rt.exec(id, { cmd: ["tee", "/run/secrets/new"], stdin: "x" });
    assert.notEqual(write.exitCode, 0, "the secrets mount is read-only");
    assert.equal(await h.opts.hostHasSecrets(rt, id), true);
    await rt.remove(id);
    assert.equal(await h.opts.hostHasSecrets(rt, id), false);
  },

  "a volume's data outlives the container that wrote it": async (rt, h) => {
    const dir = await h.opts.makeVolumeDir();
    const mounts = [{ source: dir, destination: "/data" }];
    const first = await h.create(h.opts.images.server, { mounts });
    await rt.start(first);
    const w = await rt.exec(first, { cmd: ["tee", "/data/state.txt"], stdin: "generation-1\n" });
    assert.equal(w.exitCode, 0, w.stderr);
    await rt.remove(first);
    const second = await h.create(h.opts.images.server, { mounts });
    await rt.start(second);
    const r = await rt.exec(second, { cmd: ["cat", "/data/state.txt"] });
    assert.equal(r.stdout, "generation-1\n");
  },

  "a tmpfs mount starts empty, is writable, and belongs to its container alone": async (rt, h) => {
    const mounts = [{ type: "tmpfs" as const, destination: "/scratch" }];
    const first = await h.create(h.opts.images.server, { mounts });
    await rt.start(first);
    const w = await rt.exec(first, { cmd: ["tee", "/scratch/state.txt"], stdin: "in memory\n" });
    assert.equal(w.exitCode, 0, w.stderr);
    assert.equal(
      (await rt.exec(first, { cmd: ["cat", "/scratch/state.txt"] })).stdout,
      "in memory\n",
    );
    const second = await h.create(h.opts.images.server, {
      mounts: [{ ...mounts[0], readonly: true }],
    });
    await rt.start(second);
    const ls = await rt.exec(second, { cmd: ["ls", "/scratch"] });
    assert.equal(ls.exitCode, 0, ls.stderr);
    assert.equal(ls.stdout, "", "another container's tmpfs is empty");
    const ro = await rt.exec(second, { cmd: ["tee", "/scratch/x"], stdin: "x" });
    assert.notEqual(ro.exitCode, 0, "a read-only tmpfs refuses writes");
  },

  "errors are typed": async (rt, h) => {
    await assert.rejects(rt.inspect(uniqueId("missing")), NotFoundError);
    await assert.rejects(rt.start(uniqueId("missing")), NotFoundError);
    const id = await h.create(h.opts.images.exit);
    await assert.rejects(rt.prepare({ taskId: id, image: h.opts.images.exit }), AlreadyExistsError);
    await assert.rejects(
      rt.prepare({ taskId: uniqueId("t"), image: "127.0.0.1:1/never/pulled:v1" }),
      NotFoundError,
    );
  },
};

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DeadlineExceededError(`${what} did not finish within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Runs every case as a step of `t` against a fresh runtime from `makeRuntime` (closed after the
 * case; containers the case created are removed even when it fails).
 */
export async function runRuntimeConformance(
  name: string,
  makeRuntime: () => Runtime | Promise<Runtime>,
  t: Deno.TestContext,
  opts: ConformanceOptions,
): Promise<void> {
  for (const [title, fn] of Object.entries(CASES)) {
    await t.step(`${name}: ${title}`, async () => {
      const rt = await makeRuntime();
      const created: string[] = [];
      const h: Helpers = {
        opts,
        async create(image, config = {}) {
          await rt.pull(image);
          const id = await rt.prepare({ taskId: uniqueId("conf"), image, ...config });
          created.push(id);
          return id;
        },
      };
      try {
        await withDeadline(fn(rt, h), opts.stepTimeoutMs ?? 60_000, `"${title}"`);
      } finally {
        for (const id of created) await rt.remove(id).catch(() => {});
        await rt.close();
      }
    });
  }
}
