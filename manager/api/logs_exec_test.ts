import assert from "node:assert/strict";
import { FailedPreconditionError } from "../../proto/errors.ts";
import { FakeRuntime } from "../../runtime/fake.ts";
import { fakeImages, IMAGES } from "../../worker/_test_util.ts";
import { eventually, startTestManager, startTestWorkerNode } from "../../worker/_test_manager.ts";
import { DEFAULT_STDIN_WINDOW_BYTES } from "../../worker/tunnel.ts";

type TestManager = Awaited<ReturnType<typeof startTestManager>>;
type TestWorkerNode = Awaited<ReturnType<typeof startTestWorkerNode>>;

/** A manager, one worker node on the fake runtime, and a service "box" whose task runs. */
async function withRunningBox(
  fn: (m: TestManager, n: TestWorkerNode, svc: string) => Promise<void>,
): Promise<void> {
  await using m = await startTestManager();
  await m.addNode("w1");
  const dir = await Deno.makeTempDir({ prefix: "warren-exec-" });
  const runtime = new FakeRuntime({ images: fakeImages() });
  await using n = await startTestWorkerNode(dir, runtime, [m.apiAddress]);
  try {
    await n.agent.waitConnected(10_000);
    await n.tunnel.waitConnected();
    const svc = await m.createService({ name: "box", image: IMAGES.web });
    await eventually(() => m.tasksOf(svc)[0]?.status.state === "running", "running");
    await fn(m, n, svc);
  } finally {
    await n.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("exec: a command that does not read its stdin holds back the caller end to end; the worker keeps one window", async () => {
  await withRunningBox(async (m, n) => {
    // 256 MiB on offer, read only as the call takes it.
    const total = 256 * 1024 * 1024;
    let pulled = 0;
    const stdin = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pulled >= total) return c.close();
        pulled += 64 * 1024;
        c.enqueue(new Uint8Array(64 * 1024));
      },
    });
    const ac = new AbortController();
    const exec = m.client.tasks.exec(
      { taskId: "box.1", command: ["sleep", "600"] },
      { stdin, signal: ac.signal },
    ).then(() => "exited", (err: Error) => err);
    const window = DEFAULT_STDIN_WINDOW_BYTES;
    await eventually(
      () => n.tunnel.stdinBufferedBytes >= window,
      "a window of stdin on the worker",
    );

    // The same tunnel still serves other requests while the exec's stdin stands still. For a
    // second: a hop that buffers instead of pushing back lets the client read tens of MiB a
    // second (measured: 70), and no event tells that reading has stopped for good.
    const t0 = Date.now();
    let served = 0;
    while (Date.now() - t0 < 1_000) {
      for await (const _ of m.client.tasks.logs({ taskId: "box.1" })) { /* none */ }
      served++;
    }
    const [buffered, read] = [n.tunnel.stdinBufferedBytes, pulled];
    ac.abort();
    assert.ok(await exec instanceof Error, "a cancelled exec rejects");
    assert.ok(served > 1);
    assert.equal(buffered, window, "the worker holds one window");
    // The hops between hold a few MiB (HTTP/2 windows, a few messages each; 3 MiB measured);
    // without backpressure at any one of them the client reads all it is offered.
    assert.ok(read < 8 * 1024 * 1024, `the client read ${read} bytes of stdin`);
    await eventually(() => n.tunnel.stdinBufferedBytes === 0, "the killed exec's stdin freed");
  });
});

Deno.test("exec: a task that has stopped is named as not running, not as missing from its node", async () => {
  await withRunningBox(async (m, _n, svc) => {
    const id = m.tasksOf(svc)[0]!.id;
    await m.scale(svc, 0);
    await eventually(() => m.task(id)?.status.state === "shutdown", "the task stopped");
    const err = await m.client.tasks.exec({ taskId: id, command: ["true"] }).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err instanceof FailedPreconditionError, String(err));
    assert.match(err.message, new RegExp(`task box\\.1 \\(${id}\\) is not running \\(shutdown\\)`));
  });
});
