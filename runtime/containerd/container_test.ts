import assert from "node:assert/strict";
import { startContainerd, type TestContainerd } from "../../tests/fixtures/containerd.ts";
import { startRegistry } from "../../tests/fixtures/registry.ts";
import { buildExitImage, buildHttpServerImage, pushImage } from "../../tests/fixtures/image.ts";
import FakeTimers from "@sinonjs/fake-timers";
import { ContainerdClient, type ContainerdError, isContainerdCode } from "./client.ts";
import {
  createContainer,
  KILL_WAIT_MS,
  removeContainer,
  startTask,
  stopTask,
  waitTask,
} from "./container.ts";
import { type PulledImage, pullImage } from "./pull.ts";
import { buildSpec, type SpecInput } from "./spec.ts";

async function run(
  client: ContainerdClient,
  ctd: TestContainerd,
  image: PulledImage,
  spec: Omit<SpecInput, "id" | "image"> = {},
): Promise<{ id: string; logPath: string }> {
  const id = `t-${crypto.randomUUID().slice(0, 8)}`;
  const logPath = `${ctd.state}/${id}.log`;
  await createContainer(client, {
    id,
    image,
    spec: buildSpec({ id, image: image.config, cgroupParent: `/${ctd.namespace}`, ...spec }),
    runcRoot: ctd.runcRoot,
    labels: { "warren.test": "1" },
  });
  await startTask(client, id, { logPath });
  return { id, logPath };
}

async function waitForText(path: string, text: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await Deno.readTextFile(path).catch(() => "")).includes(text)) {
    assert.ok(Date.now() < deadline, `"${text}" never appeared in ${path}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("container: stop honours SIGTERM, escalates to SIGKILL, remove is idempotent", async () => {
  await using ctd = await startContainerd();
  await using registry = await startRegistry();
  using client = new ContainerdClient({ socket: ctd.socket, namespace: ctd.namespace });
  const [sleeper, httpd] = await Promise.all([
    pushImage(
      registry,
      "warren/sleep",
      "v1",
      await buildExitImage({ exitCode: 0, sleepMs: 60_000 }),
    )
      .then((p) => pullImage(client, p.reference)),
    pushImage(registry, "warren/http", "v1", await buildHttpServerImage({ version: "v1" }))
      .then((p) => pullImage(client, p.reference)),
  ]);

  // The exit image traps SIGTERM and exits 143 at once: no escalation needed.
  const a = await run(client, ctd, sleeper);
  await waitForText(a.logPath, "warren-test-exit stdout");
  const t0 = Date.now();
  assert.deepEqual((await stopTask(client, a.id, { gracePeriodMs: 20_000 }))?.exitCode, 143);
  assert.ok(Date.now() - t0 < 10_000);

  // busybox httpd as PID 1 has no SIGTERM handler, so the kernel drops SIGTERM: SIGKILL it is.
  const b = await run(client, ctd, httpd, { network: { mode: "none" }, env: ["PORT=8080"] });
  await waitForText(b.logPath, "listening on port 8080");
  const t1 = Date.now();
  assert.equal((await stopTask(client, b.id, { gracePeriodMs: 300 }))?.exitCode, 137);
  assert.ok(Date.now() - t1 >= 300);
  // Waiting on a stopped task answers with its status at once.
  assert.equal((await waitTask(client, b.id)).exitCode, 137);

  for (const { id } of [a, b]) {
    await removeContainer(client, id);
    await removeContainer(client, id); // idempotent
    assert.equal(await stopTask(client, id), undefined);
    await assert.rejects(client.containers.get({ id }), (e) => isContainerdCode(e, "not_found"));
    await assert.rejects(
      client.snapshots.stat({ snapshotter: "overlayfs", key: id }),
      (e) => isContainerdCode(e, "not_found"),
    );
  }

  // Removing a running container kills it first.
  const c = await run(client, ctd, sleeper);
  await removeContainer(client, c.id);
  await assert.rejects(client.tasks.get({ containerId: c.id, execId: "" }));

  // A duplicate ID fails without disturbing the existing container's snapshot.
  const d = await run(client, ctd, sleeper);
  await assert.rejects(
    createContainer(client, {
      id: d.id,
      image: sleeper,
      spec: buildSpec({ id: d.id, image: sleeper.config }),
    }),
    (e) => isContainerdCode(e, "already_exists"),
  );
  await client.snapshots.stat({ snapshotter: "overlayfs", key: d.id });
  // d is left running on purpose: the fixture's stop() must clean it up.
});

Deno.test("container: joins a given network namespace", async () => {
  const netns = `warren-ct-${crypto.randomUUID().slice(0, 8)}`;
  const ip = async (...args: string[]) => {
    const res = await new Deno.Command("ip", { args, stderr: "piped", stdout: "piped" }).output();
    const text = new TextDecoder().decode(res.stdout);
    assert.equal(res.code, 0, `ip ${args.join(" ")}: ${new TextDecoder().decode(res.stderr)}`);
    return text;
  };
  await ip("netns", "add", netns);
  try {
    await ip("-n", netns, "link", "set", "lo", "up");
    await using ctd = await startContainerd();
    await using registry = await startRegistry();
    using client = new ContainerdClient({ socket: ctd.socket, namespace: ctd.namespace });
    const pushed = await pushImage(
      registry,
      "warren/http",
      "v1",
      await buildHttpServerImage({ version: "ns" }),
    );
    const image = await pullImage(client, pushed.reference);
    // A port free on the host, so "not reachable from the host" cannot be someone else's server.
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const c = await run(client, ctd, image, {
      network: { mode: "netns", path: `/run/netns/${netns}` },
      env: [`PORT=${port}`],
      hostname: "in-ns",
    });
    try {
      await waitForText(c.logPath, `listening on port ${port}`);
      // Reachable inside the namespace, and only there.
      const deadline = Date.now() + 10_000;
      let page = "";
      while (!page.includes("warren-test-http")) {
        assert.ok(Date.now() < deadline, "page never served inside the netns");
        const res = await new Deno.Command("ip", {
          args: ["netns", "exec", netns, "busybox", "wget", "-qO-", `http://127.0.0.1:${port}/`],
          stdout: "piped",
          stderr: "null",
        }).output();
        page = new TextDecoder().decode(res.stdout);
      }
      assert.equal(page.trim(), "warren-test-http version=ns host=in-ns");
      await assert.rejects(
        fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) }),
      );
    } finally {
      await removeContainer(client, c.id);
    }
  } finally {
    await ip("netns", "del", netns);
  }
});

/**
 * A containerd whose shim does what `onKill` says: Tasks/Wait answers only when a kill makes
 * the task exit (or rejects when the caller aborts), as a shim that hangs never answers.
 */
function fakeTasks(onKill: (signal: number) => number | undefined): {
  client: ContainerdClient;
  kills: { signal: number; all: boolean }[];
} {
  const kills: { signal: number; all: boolean }[] = [];
  let exit: (code: number) => void = () => {};
  const tasks = {
    wait: (_req: unknown, opts: { signal?: AbortSignal }) =>
      new Promise((resolve, reject) => {
        exit = (code) => resolve({ exitStatus: code, exitedAt: undefined });
        opts.signal?.addEventListener("abort", () => reject(new Error("cancelled")));
      }),
    kill: (req: { signal: number; all: boolean }) => {
      kills.push({ signal: req.signal, all: req.all });
      const code = onKill(req.signal);
      if (code !== undefined) exit(code);
      return Promise.resolve({});
    },
  };
  return { client: { tasks } as unknown as ContainerdClient, kills };
}

Deno.test("container: stop gives up a bounded time after SIGKILL when the shim never answers", async () => {
  const clock = FakeTimers.withGlobal(globalThis).install({
    toFake: ["setTimeout", "clearTimeout"],
  });
  try {
    // A normal stop: SIGTERM ignored, the grace period, then SIGKILL ends it.
    const ok = fakeTasks((s) => s === 9 ? 137 : undefined);
    const stopped = stopTask(ok.client, "t1", { gracePeriodMs: 5_000 });
    await clock.tickAsync(5_000);
    assert.deepEqual((await stopped)?.exitCode, 137);
    assert.deepEqual(ok.kills, [{ signal: 15, all: false }, { signal: 9, all: true }]);

    // A hung shim: nothing ever exits. The stop fails (retryable) instead of hanging.
    const hung = fakeTasks(() => undefined);
    let settled = false;
    const stopping = stopTask(hung.client, "t2", { gracePeriodMs: 5_000 });
    stopping.then(() => settled = true, () => settled = true);
    await clock.tickAsync(5_000 + KILL_WAIT_MS - 1);
    assert.equal(settled, false, "waits the whole deadline after SIGKILL");
    assert.deepEqual(hung.kills, [{ signal: 15, all: false }, { signal: 9, all: true }]);
    await clock.tickAsync(1);
    await assert.rejects(stopping, (e) => {
      assert.ok(isContainerdCode(e, "deadline_exceeded"), String(e));
      assert.ok((e as ContainerdError).retryable);
      assert.match((e as Error).message, /did not exit within 10000 ms of SIGKILL/);
      return true;
    });
  } finally {
    clock.uninstall();
  }
});
