/**
 * A crashed leader that ran tasks, as Swarm handles it: three hosts, each a manager that also
 * runs tasks (init on host 1, `warren join` with a manager token on 2 and 3). The leader's
 * daemon is killed with SIGKILL (a power cut, an OOM kill):
 * - the other two elect a leader and the CLI, which lists every manager, keeps working;
 * - the dead node goes down within the down period, although the new leader never had its
 *   worker session, and its task is replaced on the others;
 * - started again on its data directory, it becomes ready and stops the task that was
 *   replaced, so the service ends with three tasks running, none of them twice.
 *
 * Needs root, iproute2, iptables, wireguard-tools, wireguard-go, containerd, runc, Debian's
 * docker-registry and busybox-static (`deno task setup`).
 */
import { deepEqual, equal, notEqual } from "node:assert/strict";
import { startWarrenCluster } from "./_warren_hosts.ts";
import { httpImageOnHosts } from "./_http_image_hosts.ts";
import { pollUntil } from "./_e2e_util.ts";

interface NodeJson {
  id: string;
  role: string;
  status: { state: string };
}

interface TaskJson {
  id: string;
  nodeId?: string;
  desiredState: string;
  status: { state: string };
}

Deno.test("e2e: a killed leader's node goes down, its task moves, and it comes back clean", async (t) => {
  await using hosts = await httpImageOnHosts(3);
  const { netns, reference } = hosts;
  await using warren = await startWarrenCluster(netns, { managers: [1, 2] });
  const nodes = async () =>
    JSON.parse(await warren.mustCli(["node", "ls", "-o", "json"])) as NodeJson[];
  const tasks = async () =>
    JSON.parse(await warren.mustCli(["service", "ps", "web", "-o", "json"])) as TaskJson[];
  const running = (ts: TaskJson[]) =>
    ts.filter((t) => t.desiredState === "running" && t.status.state === "running");
  const leader = warren.nodes[0]!;
  let crashed: TaskJson | undefined;

  await t.step("three managers that run tasks; three replicas, one on the leader", async () => {
    await pollUntil(
      async () =>
        (await nodes()).filter((n) => n.status.state === "ready").length === 3 || undefined,
      60_000,
      "three ready nodes",
    );
    await warren.mustCli([
      "service",
      "create",
      "web",
      "--image",
      reference,
      "--replicas",
      "3",
      "--max-replicas-per-node",
      "1",
      "--stop-signal",
      "SIGKILL",
    ]);
    const up = await pollUntil(
      async () => {
        const r = running(await tasks());
        return r.length === 3 ? r : undefined;
      },
      60_000,
      "web ×3 running",
    );
    crashed = up.find((t) => t.nodeId === leader.nodeId);
    notEqual(crashed, undefined, "one replica runs on the leader's node");
  });

  await t.step("the leader is killed: the others take over and mark its node down", async () => {
    leader.child.kill("SIGKILL");
    await leader.child.status;
    const down = await pollUntil(
      async () => {
        const n = (await nodes()).find((n) => n.id === leader.nodeId);
        return n?.status.state === "down" ? n : undefined;
      },
      45_000,
      "the killed leader's node down",
    );
    equal(down.role, "manager");
    // The replacement cannot go on a node that already runs a replica: it waits, pending.
    const replaced = await pollUntil(
      async () => {
        const ts = await tasks();
        const old = ts.find((t) => t.id === crashed!.id);
        return old?.desiredState === "shutdown" ? ts : undefined;
      },
      30_000,
      "the dead node's task told to stop",
    );
    equal(running(replaced).length, 2);
  });

  await t.step("started again, the node is ready and the replaced task is gone", async () => {
    const back = await warren.restartNode(leader);
    equal(back.nodeId, leader.nodeId);
    const settled = await pollUntil(
      async () => {
        const ts = await tasks();
        const old = ts.find((t) => t.id === crashed!.id);
        const r = running(ts);
        // The old task is gone or stopped (the node reports it, or the reaper removed it).
        const stopped = old === undefined || old.status.state !== "running";
        return r.length === 3 && stopped ? { ts, r } : undefined;
      },
      60_000,
      "three replicas running and the old task stopped",
    ).catch(async (err) => {
      const ps = await warren.cli(["service", "ps", "web", "-o", "json"]);
      const ls = await warren.cli(["node", "ls"]);
      throw new Error(`${err.message}\n${ps.stdout}${ps.stderr}\n${ls.stdout}${ls.stderr}`);
    });
    deepEqual(
      new Set(settled.r.map((t) => t.nodeId)).size,
      3,
      "one replica per node again, the returned node included",
    );
    equal(
      settled.ts.filter((t) => t.status.state === "running").length,
      3,
      "no task runs twice",
    );
    const ready = (await nodes()).filter((n) => n.status.state === "ready");
    equal(ready.length, 3);
  });
});
