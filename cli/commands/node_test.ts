import assert from "node:assert/strict";
import type { WarrenClient } from "../../net/client/client.ts";
import { FailedPreconditionError } from "../../proto/errors.ts";
import { testCliContext } from "./_cli_context_test_util.ts";
import { nodeCommand } from "./node.ts";

Deno.test("node promote/demote: refused with how to change a role, never 'did you mean remove?'", async () => {
  const calls: string[] = [];
  const client = new Proxy({}, {
    get: (_t, k) => {
      calls.push(String(k));
      return undefined;
    },
  }) as unknown as WarrenClient;
  for (const [verb, token] of [["promote", "manager"], ["demote", "worker"]]) {
    const err: string[] = [];
    await assert.rejects(
      nodeCommand(testCliContext(client, [], err)).parseAsync([verb!, "n1", "n2"], {
        from: "user",
      }),
      (e) =>
        e instanceof FailedPreconditionError &&
        e.message.includes(`cannot ${verb} a node in place`) &&
        e.message.includes("warren cluster leave") &&
        e.message.includes(`join-token ${token}`),
    );
    assert.deepEqual(err, []);
  }
  assert.deepEqual(calls, []); // nothing was asked of the cluster
});
