import assert from "node:assert/strict";
import type { WarrenClient } from "../../net/client/client.ts";
import { FailedPreconditionError } from "../../proto/errors.ts";
import { testCliContext } from "./_cli_context_test_util.ts";
import { nodeCommand } from "./node.ts";
import { node as fixtureNode } from "../../manager/state/_fixtures_test_util.ts";

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

Deno.test("node ls marks the leader as a linearizable read names it, not a stale one", async () => {
  const node = (id: string) => ({ ...fixtureNode(id), role: "manager" as const });
  const client = {
    close: () => {},
    [Symbol.dispose]: () => {},
    nodes: { list: () => Promise.resolve({ nodes: [node("m1"), node("m2")], index: 9 }) },
    cluster: {
      // The manager first in the list was cut off: its own view still names itself.
      info: (o: { stale?: boolean } = {}) =>
        Promise.resolve({ raft: { term: 3, leaderId: o.stale ? "m1" : "m2", index: 9 } }),
    },
  } as unknown as WarrenClient;
  const out: string[] = [];
  await nodeCommand(testCliContext(client, out)).parseAsync(["ls", "--manager", "127.0.0.1:1"], {
    from: "user",
  });
  const line = (id: string) => out.join("\n").split("\n").find((l) => l.startsWith(id)) ?? "";
  assert.match(line("m2"), /manager \(leader\)/);
  assert.doesNotMatch(line("m1"), /leader/);
});
