import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalState } from "./local_state.ts";
import { assignment } from "./_test_util.ts";
import type { TaskRecord } from "./task_runner.ts";

Deno.test("local state: records survive reopening, large ones are chunked, deletes stick", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-worker-kv-" });
  try {
    const path = join(dir, "worker.kv");
    const big = assignment({
      env: Array.from({ length: 200 }, (_, i) => `K${i}=${"x".repeat(900)}`),
    });
    const small = assignment();
    const rec = (a: typeof big): TaskRecord => ({
      assignment: a,
      status: a.task.status,
      restarts: [5],
    });
    {
      await using s = await LocalState.open(path);
      await s.put(rec(big));
      await s.put(rec(small));
      await s.put({ ...rec(small), status: { ...small.task.status, state: "running" } });
    }
    {
      await using s = await LocalState.open(path);
      const got = (await s.load()).sort((a, b) =>
        a.assignment.task.id < b.assignment.task.id ? -1 : 1
      );
      assert.equal(got.length, 2);
      const bigGot = got.find((r) => r.assignment.task.id === big.task.id)!;
      assert.deepEqual(bigGot.assignment.spec.env, big.spec.env);
      assert.equal(
        got.find((r) => r.assignment.task.id === small.task.id)!.status.state,
        "running",
      );
      // Shrinking a chunked record leaves no stale chunks behind.
      await s.put({ ...rec(big), assignment: { ...big, spec: { ...big.spec, env: [] } } });
      await s.delete(small.task.id);
    }
    {
      await using s = await LocalState.open(path);
      const got = await s.load();
      assert.deepEqual(got.map((r) => r.assignment.spec.env), [[]]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("local state: writes queued together coalesce, the newest per task wins", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-worker-kv-" });
  try {
    const path = join(dir, "worker.kv");
    const rec = (a: ReturnType<typeof assignment>, state = a.task.status.state): TaskRecord => ({
      assignment: a,
      status: { ...a.task.status, state },
      restarts: [],
    });
    // More records than one commit may carry: they are split across commits.
    const many = Array.from({ length: 600 }, (_, i) => assignment({}, { id: `m${i}` }));
    const gone = assignment({}, { id: "gone" });
    {
      await using s = await LocalState.open(path);
      const writes = many.flatMap((a) => [s.put(rec(a)), s.put(rec(a, "running"))]);
      writes.push(s.put(rec(gone)), s.delete("gone"));
      await Promise.all(writes);
      // One commit for the first write, then the rest coalesced (split by size only).
      assert.ok(s.commits <= 4, `${s.commits} commits for ${writes.length} writes`);
      const back = assignment({}, { id: "back" });
      await Promise.all([s.delete("back"), s.put(rec(back, "starting"))]);
    }
    {
      await using s = await LocalState.open(path);
      const got = await s.load();
      assert.equal(got.length, 601);
      assert.ok(
        got.every((r) =>
          r.status.state === (r.assignment.task.id === "back" ? "starting" : "running")
        ),
      );
      assert.ok(!got.some((r) => r.assignment.task.id === "gone"));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
