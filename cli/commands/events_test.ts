import assert from "node:assert/strict";
import type { WarrenClient } from "../../net/client/client.ts";
import type { EventKind } from "../../proto/schema/mod.ts";
import { testCliContext } from "./_cli_context_test_util.ts";
import { eventsCommand } from "./events.ts";

/** The `fromIndex` each `events` invocation asks the manager for (the stream ends at once). */
async function fromIndexFor(args: string[]): Promise<number | undefined> {
  let asked: number | undefined;
  const client = {
    events: {
      // deno-lint-ignore require-yield
      async *watch(opts: { fromIndex?: number; kinds?: EventKind[] }) {
        asked = opts.fromIndex;
      },
    },
    close() {},
  } as unknown as WarrenClient;
  await eventsCommand(testCliContext(client)).parseAsync(
    [...args, "--manager", "127.0.0.1:1"],
    { from: "user" },
  );
  return asked;
}

Deno.test("events: --since-index 0 replays from the first index, not from now on", async () => {
  assert.equal(await fromIndexFor(["--since-index", "0"]), 1);
  assert.equal(await fromIndexFor(["--since-index", "1"]), 1);
  assert.equal(await fromIndexFor(["--since-index", "42"]), 42);
  // Without the flag: only what happens from now on (0 on the wire).
  assert.equal(await fromIndexFor([]), 0);
});
