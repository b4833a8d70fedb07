import assert from "node:assert/strict";
import { cpuSeconds, rssMib } from "./_proc.ts";

Deno.test("proc: this process's RSS and CPU time are read and plausible", async () => {
  const rss = await rssMib(Deno.pid);
  assert.ok(rss > 10 && rss < 4096, `rss ${rss}`);
  const before = await cpuSeconds(Deno.pid);
  const until = performance.now() + 60;
  while (performance.now() < until) { /* burn CPU */ }
  const after = await cpuSeconds(Deno.pid);
  assert.ok(after >= before, `${after} >= ${before}`);
  assert.ok(after > 0, "a running test has used some CPU");
});
