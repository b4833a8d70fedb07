import assert from "node:assert/strict";
import { UnavailableError } from "../proto/errors.ts";
import { runRuntimeConformance } from "./conformance.ts";
import { type FakeImage, FakeRuntime, ManualClock, PIPE_BYTES } from "./fake.ts";
import type { FakeFile } from "./_fake_fs.ts";
import { BoundedQueue } from "./_fake_util.ts";
import type { Platform, RuntimeEvent } from "./runtime.ts";

const AMD64: Platform = { os: "linux", architecture: "amd64" };
const ARM64: Platform = { os: "linux", architecture: "arm64" };

/** Mimics tests/fixtures/image.ts's exit image: env WARREN_EXIT_CODE / WARREN_SLEEP_MS. */
function exitImage(ref: string, extra: Partial<FakeImage> = {}): FakeImage {
  return {
    ref,
    config: { entrypoint: ["/bin/warren-exit"], env: ["WARREN_EXIT_CODE=0", "WARREN_SLEEP_MS=0"] },
    files: { "/etc/warren-platform": "linux/amd64\n" },
    behavior: ({ env }) => {
      const code = Number(env.get("WARREN_EXIT_CODE") ?? 0);
      return {
        output: [
          { line: `warren-test-exit stdout code=${code} platform=linux/amd64` },
          { stream: "stderr", line: `warren-test-exit stderr code=${code}` },
        ],
        exitAfterMs: Number(env.get("WARREN_SLEEP_MS") ?? 0),
        exitCode: code,
        exitCodeOnSignal: (sig) => (sig === 15 ? 143 : 128 + sig),
      };
    },
    ...extra,
  };
}

/** Mimics the HTTP server image: runs forever, PID 1 httpd ignores SIGTERM. */
const serverImage: FakeImage = {
  ref: "fake.local/warren/http:v1",
  config: { entrypoint: ["/bin/warren-http-server"], exposedPorts: ["80/tcp"] },
  behavior: { output: [{ line: "warren-test-http listening on port 80" }], ignoreSignals: [15] },
};

const images = {
  exit: "fake.local/warren/exit:v1",
  server: serverImage.ref,
  multiArch: {
    ref: "fake.local/warren/multi:v1",
    manifestDigests: { amd64: "", arm64: "" },
  },
  private: {
    ref: "fake.local/warren/private:v1",
    credentials: { username: "warren", password: "secret-pass" },
  },
};

function fakeImages(): FakeImage[] {
  return [
    exitImage(images.exit),
    serverImage,
    exitImage(images.multiArch.ref, { platforms: [ARM64, AMD64] }),
    exitImage(images.private.ref, { credentials: images.private.credentials }),
  ];
}

Deno.test("fake runtime passes the runtime conformance suite", async (t) => {
  // The fake's manifest digests are derived from the reference: learn them with one pull each.
  const probe = new FakeRuntime({ images: fakeImages() });
  for (const p of [AMD64, ARM64]) {
    const info = await probe.pull(images.multiArch.ref, { platform: p });
    images.multiArch.manifestDigests[p.architecture] = info.manifestDigest;
  }
  const hostFs = new Map<string, FakeFile>();
  await runRuntimeConformance("fake", () => new FakeRuntime({ images: fakeImages(), hostFs }), t, {
    images,
    platform: AMD64,
    makeVolumeDir: () => Promise.resolve(`/var/lib/warren/volumes/${crypto.randomUUID()}`),
    hostHasSecrets: (rt, id) => Promise.resolve((rt as FakeRuntime).hostHasSecrets(id)),
  });
});

Deno.test("fake: scripted exit and output follow the manual clock exactly", async () => {
  const clock = new ManualClock(1_000);
  const rt = new FakeRuntime({
    clock,
    images: [{
      ref: "img",
      config: { cmd: ["run"] },
      behavior: { output: [{ line: "a" }, { line: "b", atMs: 50 }], exitAfterMs: 100, exitCode: 4 },
    }],
  });
  await rt.pull("img");
  const id = await rt.prepare({ taskId: "t1", image: "img" });
  await rt.start(id);
  await clock.advance(99);
  assert.equal((await rt.inspect(id)).state, "running");
  await clock.advance(1);
  assert.deepEqual(await rt.wait(id), { exitCode: 4, exitedAt: new Date(1_100) });
  const logs = [];
  for await (const e of rt.logs(id)) logs.push([e.line, e.ts.getTime()]);
  assert.deepEqual(logs, [["a", 1_000], ["b", 1_050]]);
  assert.equal(clock.pending, 0, "no timers left behind");
});

Deno.test("fake: stop waits the grace period on the clock, then SIGKILLs", async () => {
  const clock = new ManualClock();
  const rt = new FakeRuntime({ clock, images: [serverImage] });
  await rt.pull(serverImage.ref);
  const id = await rt.prepare({ taskId: "web-1", image: serverImage.ref });
  await rt.start(id);
  let result: number | undefined;
  const stopping = rt.stop(id, { gracePeriodMs: 5_000 }).then((e) => result = e?.exitCode);
  await clock.advance(4_999);
  assert.equal(result, undefined, "SIGTERM is ignored");
  await clock.advance(1);
  await stopping;
  assert.equal(result, 137);
});

Deno.test("fake: scripted pull failure, unknown platform, and exec-based health", async () => {
  let healthy = false;
  const rt = new FakeRuntime({
    images: [
      { ref: "down", pullError: new UnavailableError("registry down") },
      { ref: "arm-only", platforms: [ARM64], config: { cmd: ["x"] } },
      {
        ref: "svc",
        config: { cmd: ["svc"] },
        behavior: {
          exec: (cmd) =>
            cmd[0] === "health" ? { exitCode: healthy ? 0 : 1, stdout: "", stderr: "" } : undefined,
        },
      },
    ],
  });
  await assert.rejects(rt.pull("down"), UnavailableError);
  await assert.rejects(rt.pull("arm-only"), /no manifest for linux\/amd64/);
  await rt.pull("svc");
  const id = await rt.prepare({ taskId: "svc-1", image: "svc" });
  await rt.start(id);
  assert.equal((await rt.exec(id, { cmd: ["health"] })).exitCode, 1);
  healthy = true;
  assert.equal((await rt.exec(id, { cmd: ["health"] })).exitCode, 0);
  assert.equal((await rt.exec(id, { cmd: ["nope"] })).exitCode, 127);
  assert.equal(rt.calls.get("exec"), 3);
});

Deno.test("fake: exec sleep does not read stdin: its pipe fills, the writer waits until it exits", async () => {
  const clock = new ManualClock();
  const rt = new FakeRuntime({ clock, images: [serverImage] });
  await rt.pull(serverImage.ref);
  const id = await rt.prepare({ taskId: "web-1", image: serverImage.ref });
  await rt.start(id);
  const session = await rt.execStream(id, { cmd: ["sleep", "10"] });
  const w = session.stdin.getWriter();
  await w.write(new Uint8Array(PIPE_BYTES)); // the pipe holds this much
  let settled: string | undefined;
  const blocked = w.write(new Uint8Array(1)).then(() => "written", (e: Error) => e.message);
  void blocked.then((r) => settled = r);
  await clock.advance(9_999);
  assert.equal(settled, undefined, "a full pipe nobody reads holds the writer");
  await clock.advance(1);
  assert.equal(await session.exited, 0);
  assert.match(await blocked, /broken pipe/);

  // Killed: the waiting write fails at once; a bad duration is sleep's own error.
  const killed = await rt.execStream(id, { cmd: ["sleep", "600"] });
  const kw = killed.stdin.getWriter();
  const waiting = kw.write(new Uint8Array(PIPE_BYTES + 1)).then(() => "written", () => "failed");
  await killed.kill("SIGKILL");
  assert.equal(await killed.exited, 137);
  assert.equal(await waiting, "failed");
  assert.equal(clock.pending, 0, "a killed sleep leaves no timer");
  const bad = await rt.execStream(id, { cmd: ["sleep", "soon"] });
  assert.equal(await bad.exited, 1);
});

Deno.test("fake: logs keep only the rotation budget", async () => {
  const lines = Array.from({ length: 100 }, (_, i) => ({ line: `line-${i}`.padEnd(9, ".") }));
  const rt = new FakeRuntime({
    clock: new ManualClock(),
    images: [{ ref: "chatty", config: { cmd: ["x"] }, behavior: { output: lines } }],
  });
  await rt.pull("chatty");
  // 2 files of 100 bytes = 20 lines of 10 bytes.
  const id = await rt.prepare({ taskId: "c1", image: "chatty", log: { maxFileBytes: 100 } });
  await rt.start(id);
  const kept = [];
  for await (const e of rt.logs(id)) kept.push(e.line);
  assert.equal(kept.length, 20);
  assert.equal(kept[0], "line-80..");
});

Deno.test("fake: an event subscriber's queue is bounded and drops the oldest", async () => {
  const q = new BoundedQueue<number>(2);
  for (const n of [1, 2, 3, 4, 5]) q.push(n);
  q.close();
  const got = [];
  for await (const n of q.drain()) got.push(n);
  assert.deepEqual(got, [4, 5]);
  assert.equal(q.dropped, 3);
});

Deno.test("fake: events deliver start and exit in order", async () => {
  const clock = new ManualClock();
  const rt = new FakeRuntime({
    clock,
    images: [{ ref: "i", config: { cmd: ["x"] }, behavior: { exitAfterMs: 10, exitCode: 2 } }],
  });
  const ac = new AbortController();
  const it = rt.events(ac.signal)[Symbol.asyncIterator]();
  const first = it.next(); // subscribes
  await rt.pull("i");
  await rt.start(await rt.prepare({ taskId: "e1", image: "i" }));
  await clock.advance(10);
  await rt.remove("e1");
  ac.abort();
  const got: RuntimeEvent[] = [(await first).value as RuntimeEvent];
  for (let r = await it.next(); !r.done; r = await it.next()) got.push(r.value);
  assert.deepEqual(got.map((e) => [e.type, e.exitCode]), [
    ["start", undefined],
    ["exit", 2],
    ["delete", 2],
  ]);
});
