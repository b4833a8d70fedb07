import assert from "node:assert/strict";
import { waitForShutdown } from "./shutdown.ts";

Deno.test("a daemon also shuts down, once, when the promise it runs until settles", async () => {
  let stops = 0;
  const { promise, reject } = Promise.withResolvers<void>();
  const done = waitForShutdown(() => {
    stops++;
    return Promise.resolve();
  }, { until: promise });
  reject(new Error("removed from the cluster"));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    done.then(() => "stopped"),
    new Promise((r) => (timer = setTimeout(() => r("still running after 5 s"), 5_000))),
  ]);
  clearTimeout(timer);
  if (outcome !== "stopped") Deno.kill(Deno.pid, "SIGTERM"); // ends the waiting, so the test can end
  await done;
  assert.equal(outcome, "stopped");
  assert.equal(stops, 1);
});
