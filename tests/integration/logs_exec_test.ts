/**
 * `service logs` and `service exec` end to end over real containerd, a real registry and an
 * in-process manager: the worker's tunnel carries the requests; the client API, the CLI command
 * (in process) and the `warren` binary (as a child process, for stdin and the exit code) are
 * checked. Needs root.
 */
import assert from "node:assert/strict";
import { Command } from "commander";
import { NotFoundError, type WarrenError } from "../../proto/errors.ts";
import type { TaskLogsMessage } from "../../proto/schema/mod.ts";
import { WarrenClient } from "../../net/client/client.ts";
import { serviceCommand } from "../../cli/commands/service.ts";
import type { CliContext } from "../../cli/commands/_context.ts";
import { serveWorkerMetrics } from "../../worker/metrics_http.ts";
import { eventually, workerEnv } from "./_worker_env.ts";

const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;

/** Five numbered lines on stdout and one on stderr, then idles (or exits after `then`). */
function chatty(then = "sleep 600"): string[] {
  return [
    "sh",
    "-c",
    'i=1; while [ $i -le 5 ]; do echo "line $i of $(hostname)"; i=$((i+1)); done; ' +
    `echo "oops from $(hostname)" >&2; ${then}`,
  ];
}

async function collect(it: AsyncIterable<TaskLogsMessage>): Promise<Map<string, string[]>> {
  const byTask = new Map<string, string[]>();
  for await (const m of it) {
    const lines = byTask.get(m.taskName) ?? [];
    lines.push(...m.lines.map((l) => `${l.stream}:${l.line}`));
    byTask.set(m.taskName, lines);
  }
  return byTask;
}

/** Runs the `service` command group in process; returns its stdout and stderr lines. */
async function cli(manager: string, args: string[]): Promise<{ out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    io: {
      out: (t) => void (t !== "" && out.push(t)),
      err: (t) => void err.push(t),
      readStdin: () => Promise.resolve(new Uint8Array()),
    },
    env: () => undefined,
    now: () => Date.now(),
    connect: (target) => Promise.resolve(new WarrenClient({ managers: target.managers })),
    interrupt: () => new AbortController().signal,
    configPath: "/nonexistent/warren-config.json",
  };
  const program = new Command("warren").exitOverride().addCommand(serviceCommand(ctx));
  await program.parseAsync(["service", ...args, "--manager", manager], { from: "user" });
  return { out, err };
}

Deno.test("logs/exec: a service's logs through the worker tunnel: prefixes, tail, follow end", async () => {
  await using env = await workerEnv();
  const { manager: m } = env;
  const node = await env.startNode(env.newRuntime());
  await node.agent.waitConnected();
  await node.tunnel.waitConnected();
  const c = m.client;
  const svc = await m.createService({
    name: "chat",
    image: env.exitImage,
    command: chatty(),
    replicas: 2,
    stopGracePeriodMs: 200,
  });
  await eventually(
    () => m.tasksOf(svc).filter((t) => t.status.state === "running").length === 2,
    "two running tasks",
    30_000,
  );
  // The log driver writes asynchronously: wait for each task's six lines.
  await eventually(async () => {
    const got = await collect(c.tasks.logs({ serviceId: "chat" }));
    return [...got.values()].filter((l) => l.length === 6).length === 2;
  }, "six lines per task");

  const all = await collect(c.tasks.logs({ serviceId: "chat" }));
  assert.deepEqual([...all.keys()].sort(), ["chat.1", "chat.2"]);
  for (const [name, lines] of all) {
    assert.deepEqual(lines.filter((l) => l.startsWith("stdout:")), [
      `stdout:line 1 of ${name}`,
      `stdout:line 2 of ${name}`,
      `stdout:line 3 of ${name}`,
      `stdout:line 4 of ${name}`,
      `stdout:line 5 of ${name}`,
    ]);
    assert.deepEqual(lines.filter((l) => l.startsWith("stderr:")), [`stderr:oops from ${name}`]);
  }

  // The CLI: every line prefixed task.slot@node, stderr lines on stderr, --tail per task.
  const tailed = await cli(m.apiAddress, ["logs", "chat", "--tail", "2"]);
  const outLines = [...tailed.out, ...tailed.err].sort();
  assert.equal(outLines.length, 4, JSON.stringify(tailed));
  for (const name of ["chat.1", "chat.2"]) {
    const mine = outLines.filter((l) => l.startsWith(`${name}@w1 | `));
    assert.equal(mine.length, 2, `two lines of ${name}: ${JSON.stringify(tailed)}`);
  }
  assert.ok(tailed.err.every((l) => / \| oops from chat\.\d$/.test(l)), JSON.stringify(tailed));
  const one = await cli(m.apiAddress, ["logs", "chat.2", "--tail", "1", "-t"]);
  assert.equal(one.err.length, 1);
  assert.match(one.err[0], /^chat\.2@w1 \| \d{4}-\d\d-\d\dT\S+Z oops from chat\.2$/);
  // --since: a time after every line keeps none; a duration reaching back keeps all six.
  const later = new Date(Date.now() + 60_000).toISOString();
  const none = await cli(m.apiAddress, ["logs", "chat.1", "--since", later]);
  assert.deepEqual([...none.out, ...none.err], []);
  const recent = await cli(m.apiAddress, ["logs", "chat.1", "--since", "10m"]);
  assert.equal([...recent.out, ...recent.err].length, 6, JSON.stringify(recent));

  // Following a service picks up a task started later (scale up).
  const follow = new AbortController();
  const live = new Map<string, string[]>();
  const sawNew = Promise.withResolvers<void>();
  const reading = (async () => {
    for await (
      const msg of c.tasks.logs({ serviceId: "chat", follow: true, signal: follow.signal })
    ) {
      const lines = live.get(msg.taskName) ?? [];
      lines.push(...msg.lines.map((l) => `${l.stream}:${l.line}`));
      live.set(msg.taskName, lines);
      if (lines.includes("stdout:line 5 of chat.3")) sawNew.resolve();
    }
  })().catch((err) => {
    if (!follow.signal.aborted) sawNew.reject(err);
  });
  await c.services.scale(svc, 3);
  const timer = setTimeout(
    () => sawNew.reject(new Error(`chat.3 never followed: ${[...live]}`)),
    30_000,
  );
  try {
    await sawNew.promise;
  } finally {
    clearTimeout(timer);
    follow.abort();
  }
  await reading;
  assert.deepEqual([...live.keys()].sort(), ["chat.1", "chat.2", "chat.3"]);

  // follow ends by itself once the task ends.
  const job = await m.createService({
    name: "job",
    image: env.exitImage,
    command: chatty("sleep 2; echo bye"),
    restartPolicy: { condition: "none" },
  });
  await eventually(() => m.tasksOf(job)[0]?.status.state === "running", "job running", 30_000);
  const started = Date.now();
  const followed = await collect(c.tasks.logs({ serviceId: "job", follow: true }));
  const tookMs = Date.now() - started;
  assert.ok(followed.get("job.1")?.includes("stdout:bye"), JSON.stringify([...followed]));
  assert.ok(tookMs < 15_000, `follow ended ${tookMs} ms after start`);
  assert.equal(m.tasksOf(job)[0]?.status.state, "complete");

  // A crash loop: each failed task's container goes, and its output can still be read (the
  // node keeps the log files of its last few ended tasks).
  const crash = await m.createService({
    name: "crash",
    image: env.exitImage,
    command: ["sh", "-c", 'echo "panic: no config in $(hostname)" >&2; exit 3'],
    restartPolicy: { condition: "on-failure", delayMs: 0, maxAttempts: 1 },
  });
  await eventually(
    () => m.tasksOf(crash).filter((t) => t.status.state === "failed").length === 2,
    "both attempts failed",
    30_000,
  );
  const first = m.tasksOf(crash).sort((a, b) => a.createdAt - b.createdAt)[0]!;
  await eventually(() => node.worker.runner(first.id) === undefined, "its container removed");
  const crashed = await collect(c.tasks.logs({ taskId: first.id }));
  assert.deepEqual(crashed.get("crash.1"), ["stderr:panic: no config in crash.1"]);
  const byService = await collect(c.tasks.logs({ serviceId: "crash" }));
  assert.equal(byService.get("crash.1")?.length, 2, JSON.stringify([...byService]));

  // Following one task never hangs: it ends when the worker's tunnel drops (the worker stops;
  // following a whole service goes on, for the tasks that replace its tasks) ...
  const dropped = async (opts: { idleTimeoutMs?: number }, cut: () => Promise<void>) => {
    const t0 = Date.now();
    let seen = 0;
    const reading = (async () => {
      for await (const _ of c.tasks.logs({ taskId: "chat.1", follow: true, ...opts })) seen++;
    })().then(() => "ended", (err: Error) => `failed: ${err.message}`);
    await eventually(() => seen > 0, "the follow stream started", 15_000);
    await cut();
    const outcome = await reading;
    return { outcome, ms: Date.now() - t0 };
  };
  const byWorker = await dropped({}, () => node.stop());
  assert.ok(byWorker.ms < 15_000, `ended ${byWorker.ms} ms after the worker stopped`);
  // ... and when the manager goes away.
  const node2 = await env.startNode(env.newRuntime());
  await node2.tunnel.waitConnected();
  const byManager = await dropped({ idleTimeoutMs: 2_000 }, () => m.stop());
  assert.match(byManager.outcome, /^failed: /);
  assert.ok(byManager.ms < 15_000, `ended ${byManager.ms} ms after the manager stopped`);
});

Deno.test("logs/exec: exec returns output and exit code; a missing task is NOT_FOUND", async () => {
  await using env = await workerEnv();
  const { manager: m } = env;
  const node = await env.startNode(env.newRuntime());
  await node.agent.waitConnected();
  await node.tunnel.waitConnected();
  const c = m.client;
  const svc = await m.createService({
    name: "box",
    image: env.exitImage,
    command: ["sleep", "600"],
    stopGracePeriodMs: 200,
  });
  await eventually(() => m.tasksOf(svc)[0]?.status.state === "running", "running", 30_000);
  const dec = new TextDecoder();
  let out = "";
  let err = "";
  const code = await c.tasks.exec(
    { taskId: "box.1", command: ["sh", "-c", "echo out; echo err >&2; hostname; exit 7"] },
    { stdout: (b) => void (out += dec.decode(b)), stderr: (b) => void (err += dec.decode(b)) },
  );
  assert.equal(code, 7);
  assert.equal(out, "out\nbox.1\n");
  assert.equal(err, "err\n");

  // A terminal: one output stream, the requested size, and a resize delivered as SIGWINCH.
  let screen = "";
  const ready = Promise.withResolvers<void>();
  async function* resizes() {
    await ready.promise;
    yield { cols: 120, rows: 40 };
  }
  const ttyCode = await c.tasks.exec(
    {
      taskId: "box.1",
      command: [
        "sh",
        "-c",
        "trap 'stty size; exit 0' WINCH; test -t 0 && test -t 1 && stty size; echo err >&2; " +
        "echo ready; while true; do sleep 0.1; done",
      ],
      tty: true,
      stdin: true,
      size: { cols: 100, rows: 30 },
    },
    {
      stdin: new ReadableStream({ start() {} }), // a terminal's stdin stays open
      stdout: (b) => {
        screen += dec.decode(b);
        if (screen.includes("ready")) ready.resolve();
      },
      stderr: () => assert.fail("a tty has no separate stderr"),
      resizes: resizes(),
    },
  );
  assert.equal(ttyCode, 0);
  const lines = screen.split(/\r?\n/).map((l) => l.trim());
  assert.deepEqual(lines.slice(0, 3), ["30 100", "err", "ready"], JSON.stringify(screen));
  assert.ok(lines.includes("40 120"), `resized: ${JSON.stringify(screen)}`);

  // By task ID, with stdin.
  let echoed = "";
  const id = m.tasksOf(svc)[0].id;
  assert.equal(
    await c.tasks.exec({ taskId: id, command: ["cat"] }, {
      stdin: "hello\nworld\n",
      stdout: (b) => void (echoed += dec.decode(b)),
    }),
    0,
  );
  assert.equal(echoed, "hello\nworld\n");

  // More stdin than the worker's window, to a process that reads it only after a while: the
  // stdin waits for credit (the pipe is full meanwhile) and then all of it arrives.
  let counted = "";
  const big = new Uint8Array(4 * 1024 * 1024).fill(97);
  assert.equal(
    await c.tasks.exec({ taskId: id, command: ["sh", "-c", "sleep 1; wc -c"] }, {
      stdin: big,
      stdout: (b) => void (counted += dec.decode(b)),
    }),
    0,
  );
  assert.equal(counted.trim(), String(big.byteLength));

  await assert.rejects(
    c.tasks.exec({ taskId: "box.9", command: ["true"] }),
    (e: unknown) => {
      assert.ok(e instanceof NotFoundError, `${e}`);
      assert.equal((e as WarrenError).message, 'task "box.9" not found');
      return true;
    },
  );
  await assert.rejects(
    collectAll(c.tasks.logs({ taskId: "nope.1" })),
    (e: unknown) => e instanceof NotFoundError,
  );

  // The warren binary: piped stdin reaches the command, its exit code is the process's.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "service",
      "exec",
      "--manager",
      m.apiAddress,
      "box.1",
      "--",
      "sh",
      "-c",
      "tr a-z A-Z; exit 3",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { WARREN_CONFIG: "/nonexistent/warren-config.json" },
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode("shout\n"));
  await w.close();
  const res = await child.output();
  assert.equal(dec.decode(res.stdout), "SHOUT\n", dec.decode(res.stderr));
  assert.equal(res.code, 3);

  // The worker's own /metrics: the task's CPU and memory as containerd's cgroups report them.
  await using metrics = serveWorkerMetrics({
    worker: node.worker,
    address: "127.0.0.1:0",
    links: { managerConnected: () => node.agent.connected, tunnelConnected: () => true },
  });
  const text = await (await fetch(`http://127.0.0.1:${metrics.port}/metrics`)).text();
  const sample = (name: string) =>
    Number(new RegExp(`^${name}\\{[^}]*task_name="box\\.1"\\} (\\S+)$`, "m").exec(text)?.[1]);
  assert.ok(sample("warren_task_memory_bytes") > 0, text);
  assert.ok(sample("warren_task_cpu_seconds_total") > 0, text);
  assert.match(text, /^warren_worker_manager_connected\{node="w1"\} 1$/m);

  const missing = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "service", "exec", "--manager", m.apiAddress, "box.9", "--", "id"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { WARREN_CONFIG: "/nonexistent/warren-config.json" },
  }).output();
  assert.equal(missing.code, 1);
  assert.match(dec.decode(missing.stderr), /task "box\.9" not found/);
});

async function collectAll<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
