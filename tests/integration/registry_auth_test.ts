/**
 * A private registry (basic auth) used through a login kept in a secret
 * (ServiceSpec.registryAuthSecret): the task of a service naming the secret pulls and runs; one
 * without it is rejected with the registry's refusal; deleting the secret while in use is refused.
 * Real containerd, real registry. Needs root.
 */
import assert from "node:assert/strict";
import { eventually, workerEnv } from "./_worker_env.ts";
import { startRegistry } from "../fixtures/registry.ts";
import { buildExitImage, pushImage } from "../fixtures/image.ts";

Deno.test("worker/containerd: a registry login from a secret pulls a private image", async () => {
  await using env = await workerEnv();
  await using registry = await startRegistry({ auth: "basic" });
  const { reference } = await pushImage(
    registry,
    "warren/private",
    "v1",
    await buildExitImage({ exitCode: 0 }),
  );
  const { username, password } = registry.credentials!;
  const m = env.manager;
  const node = await env.startNode(env.newRuntime());
  await node.agent.waitConnected();
  await m.client.secrets.create({
    name: "reg-login",
    data: new TextEncoder().encode(JSON.stringify({ username, password })),
  });

  const anonymous = await m.createService({
    name: "anon",
    image: reference,
    restartPolicy: { condition: "none" },
  });
  const authed = await m.createService({
    name: "authed",
    image: reference,
    env: ["WARREN_SLEEP_MS=600000"],
    registryAuthSecret: "reg-login",
  });
  await eventually(
    () => m.tasksOf(authed).some((t) => t.status.state === "running"),
    "the task with the login runs",
    60_000,
  );
  await eventually(
    () => m.tasksOf(anonymous).some((t) => t.status.state === "rejected"),
    "the task without it is rejected",
    60_000,
  );
  const failed = m.tasksOf(anonymous).find((t) => t.status.state === "rejected")!;
  assert.match(
    `${failed.status.error ?? ""} ${failed.status.message}`,
    /requires credentials|unauthorized|401/i,
  );
  await assert.rejects(
    m.client.secrets.delete("reg-login"),
    /in use by service "authed"/,
  );
});
