/**
 * "Done when" proof of the containerd runtime building blocks: images built here are pushed to a
 * real registry (docker-registry), pulled by Warren's client-side pull into a private containerd,
 * and run with runc. Needs root.
 */
import assert from "node:assert/strict";
import { UnauthenticatedError } from "../../proto/errors.ts";
import { ContainerdClient } from "../../runtime/containerd/client.ts";
import {
  createContainer,
  removeContainer,
  startTask,
  stopTask,
  waitTask,
} from "../../runtime/containerd/container.ts";
import { formatPlatform, hostPlatform } from "../../runtime/containerd/oci.ts";
import { type PulledImage, pullImage } from "../../runtime/containerd/pull.ts";
import { buildSpec, type SpecInput } from "../../runtime/containerd/spec.ts";
import { startContainerd, type TestContainerd } from "../fixtures/containerd.ts";
import { buildExitImage, buildHttpServerImage, pushImage } from "../fixtures/image.ts";
import { startRegistry } from "../fixtures/registry.ts";

/** Creates and starts a container; returns its ID and combined log file. */
async function run(
  client: ContainerdClient,
  ctd: TestContainerd,
  image: PulledImage,
  spec: Omit<SpecInput, "id" | "image"> = {},
): Promise<{ id: string; logPath: string }> {
  const id = `it-${crypto.randomUUID().slice(0, 8)}`;
  const logPath = `${ctd.state}/logs/${id}.log`;
  await createContainer(client, {
    id,
    image,
    spec: buildSpec({ id, image: image.config, cgroupParent: `/${ctd.namespace}`, ...spec }),
    runcRoot: ctd.runcRoot,
  });
  await startTask(client, id, { logPath });
  return { id, logPath };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("pull+run: exit image exits 3 and its output lands in the log file", async () => {
  await using ctd = await startContainerd();
  await using registry = await startRegistry();
  using client = new ContainerdClient({ socket: ctd.socket, namespace: ctd.namespace });
  const { reference } = await pushImage(
    registry,
    "warren/exit",
    "v3",
    await buildExitImage({ exitCode: 3 }),
  );
  const image = await pullImage(client, reference);
  const { id, logPath } = await run(client, ctd, image);
  try {
    const status = await waitTask(client, id);
    assert.equal(status.exitCode, 3);
    assert.ok(status.exitedAt instanceof Date);
    const log = await Deno.readTextFile(logPath);
    assert.match(log, /^warren-test-exit stdout code=3 platform=linux\/amd64$/m);
    assert.match(log, /^warren-test-exit stderr code=3$/m);
  } finally {
    await removeContainer(client, id);
  }
});

Deno.test("pull+run: HTTP image on host networking serves its page on 127.0.0.1", async () => {
  await using ctd = await startContainerd();
  await using registry = await startRegistry();
  using client = new ContainerdClient({ socket: ctd.socket, namespace: ctd.namespace });
  const { reference } = await pushImage(
    registry,
    "warren/http",
    "v1",
    await buildHttpServerImage({ version: "v1" }),
  );
  const image = await pullImage(client, reference);
  const port = freePort();
  const { id } = await run(client, ctd, image, {
    network: { mode: "host" },
    env: [`PORT=${port}`],
    hostname: "web-1",
  });
  try {
    const deadline = Date.now() + 15_000;
    let body = "";
    while (!body) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`);
        body = await res.text();
        assert.equal(res.status, 200);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.equal(body.trim(), "warren-test-http version=v1 host=web-1");
    const stopped = await stopTask(client, id, { gracePeriodMs: 500 });
    assert.equal(stopped?.exitCode, 137); // httpd as PID 1 ignores SIGTERM
  } finally {
    await removeContainer(client, id);
  }
  await assert.rejects(fetch(`http://127.0.0.1:${port}/`)); // nothing listens any more
});

Deno.test("pull+run: a multi-arch index resolves to this node's platform", async () => {
  await using ctd = await startContainerd();
  await using registry = await startRegistry();
  using client = new ContainerdClient({ socket: ctd.socket, namespace: ctd.namespace });
  const built = await buildExitImage({ exitCode: 0, platforms: ["arm64", "amd64"] });
  const { reference, digest } = await pushImage(registry, "warren/multi", "v1", built);
  const image = await pullImage(client, reference);
  const host = hostPlatform();
  assert.equal(host.architecture, "amd64", "this machine is amd64");
  assert.equal(image.target.digest, digest);
  assert.equal(image.target.mediaType, "application/vnd.oci.image.index.v1+json");
  const amd64 = built.manifests.find((m) => m.arch === "amd64")!;
  assert.equal(image.manifestDigest, amd64.descriptor.digest);
  assert.equal(image.config.architecture, "amd64");
  const { id, logPath } = await run(client, ctd, image);
  try {
    assert.equal((await waitTask(client, id)).exitCode, 0);
    assert.match(
      await Deno.readTextFile(logPath),
      new RegExp(`platform=${formatPlatform(host)}$`, "m"),
    );
  } finally {
    await removeContainer(client, id);
  }
});

for (const auth of ["basic", "token"] as const) {
  Deno.test(`pull+run: ${auth}-auth registry needs the right credentials`, async () => {
    await using ctd = await startContainerd();
    await using registry = await startRegistry({ auth });
    using client = new ContainerdClient({ socket: ctd.socket, namespace: ctd.namespace });
    const { reference } = await pushImage(
      registry,
      "warren/private",
      "v1",
      await buildExitImage({ exitCode: 7 }),
    );
    const credentials = registry.credentials!;
    await assert.rejects(
      pullImage(client, reference),
      (err) => err instanceof UnauthenticatedError && /requires credentials/.test(err.message),
    );
    await assert.rejects(
      pullImage(client, reference, { credentials: { ...credentials, password: "wrong" } }),
      (err) =>
        err instanceof UnauthenticatedError &&
        err.message.includes(`rejected the credentials of "${credentials.username}"`),
    );
    const image = await pullImage(client, reference, { credentials });
    const { id } = await run(client, ctd, image);
    try {
      assert.equal((await waitTask(client, id)).exitCode, 7);
    } finally {
      await removeContainer(client, id);
    }
  });
}
