/**
 * The runtime conformance suite against the real thing: Warren's ContainerdRuntime on a private
 * containerd, pulling images built by tests/fixtures/image.ts from real registries (one open,
 * one behind bearer-token auth). Needs root (mounts, runc).
 */
import assert from "node:assert/strict";
import { ValidationError } from "../../proto/errors.ts";
import { runRuntimeConformance } from "../../runtime/conformance.ts";
import { ContainerdRuntime } from "../../runtime/containerd/runtime.ts";
import { hostPlatform } from "../../runtime/containerd/oci.ts";
import { startContainerd } from "../fixtures/containerd.ts";
import { buildExitImage, buildHttpServerImage, pushImage } from "../fixtures/image.ts";
import { startRegistry } from "../fixtures/registry.ts";

/** Lazily unmounts whatever a failed run left mounted under `dir` (secrets tmpfs). */
async function unmountUnder(dir: string): Promise<void> {
  const info = await Deno.readTextFile("/proc/self/mountinfo");
  const points = info.split("\n").map((l) => l.split(" ")[4]).filter((p) =>
    p?.startsWith(`${dir}/`)
  );
  for (const p of points.sort().reverse()) {
    await new Deno.Command("umount", { args: ["-l", p] }).output();
  }
}

Deno.test({
  name: "containerd runtime passes the runtime conformance suite",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using ctd = await startContainerd();
    await using registry = await startRegistry();
    await using tokenRegistry = await startRegistry({ auth: "token" });
    const multi = await buildExitImage({ exitCode: 0, platforms: ["amd64", "arm64"] });
    const digestOf = (arch: string) => multi.manifests.find((m) => m.arch === arch)!.descriptor;
    const images = {
      exit: (await pushImage(registry, "warren/exit", "v1", await buildExitImage({ exitCode: 0 })))
        .reference,
      server: (await pushImage(
        registry,
        "warren/http",
        "v1",
        await buildHttpServerImage({ version: "v1" }),
      )).reference,
      multiArch: {
        ref: (await pushImage(registry, "warren/multi", "v1", multi)).reference,
        manifestDigests: { amd64: digestOf("amd64").digest, arm64: digestOf("arm64").digest },
      },
      private: {
        ref: (await pushImage(
          tokenRegistry,
          "warren/private",
          "v1",
          await buildExitImage({ exitCode: 0 }),
        )).reference,
        credentials: tokenRegistry.credentials!,
      },
    };
    const dataDir = await Deno.makeTempDir({ prefix: "warren-rt-" });
    const makeRuntime = () =>
      new ContainerdRuntime({
        socket: ctd.socket,
        namespace: ctd.namespace,
        runcRoot: ctd.runcRoot,
        cgroupParent: `/${ctd.namespace}`,
        dataDir,
      });
    try {
      await runRuntimeConformance(
        "containerd",
        makeRuntime,
        t,
        {
          images,
          platform: hostPlatform(),
          makeVolumeDir: () => Deno.makeTempDir({ dir: dataDir, prefix: "volume-" }),
          hostHasSecrets: async (rt, id) => {
            const dir = (rt as ContainerdRuntime).secretsDir(id);
            return await Deno.stat(dir).then(() => true, () => false);
          },
        },
      );
      await t.step("containerd: an image's named USER resolves from its /etc/passwd", async () => {
        const nobody = (await pushImage(
          registry,
          "warren/nobody",
          "v1",
          await buildExitImage({ exitCode: 0, sleepMs: 60_000, user: "nobody" }),
        )).reference;
        const rt = makeRuntime();
        const id = `user-${crypto.randomUUID().slice(0, 8)}`;
        try {
          await rt.pull(nobody);
          await rt.prepare({
            taskId: id,
            image: nobody,
            // Mode 0400 and no owner given: owned by the container's user, so it can read it.
            secrets: [{ name: "token", data: new TextEncoder().encode("t0ken"), mode: 0o400 }],
          });
          await rt.start(id);
          const sh = async (cmd: string, user?: string) => {
            const r = await rt.exec(id, { cmd: ["sh", "-c", cmd], ...(user ? { user } : {}) });
            assert.equal(r.exitCode, 0, r.stderr);
            return r.stdout.trim();
          };
          assert.equal(await sh("id -u; id -g"), "65534\n65534");
          assert.equal(await sh("cat /run/secrets/token"), "t0ken");
          assert.equal(await sh("stat -c '%u:%g %a' /run/secrets/token"), "65534:65534 400");
          assert.equal(await sh("id -u; id -g", "root"), "0\n0");
          assert.equal(await sh("id -u; id -g", "4242"), "4242\n0", "unknown uid: gid 0");
          await assert.rejects(
            rt.prepare({ taskId: `${id}-x`, image: nobody, user: "ghost" }),
            (err) => err instanceof ValidationError && err.field === "user",
          );
          // An exec's user resolves against the image the container runs, not the image its tag
          // names now: with the record gone (or the tag moved), a new runtime (no caches) still
          // finds `nobody` in the container's image.
          await rt.client.images.delete({ name: nobody, sync: true });
          const fresh = makeRuntime();
          try {
            const r = await fresh.exec(id, { cmd: ["id", "-u"], user: "nobody" });
            assert.equal(r.stdout.trim(), "65534", r.stderr);
          } finally {
            await fresh.close();
          }
        } finally {
          await rt.remove(id).catch(() => {});
          await rt.close();
        }
      });
    } finally {
      await unmountUnder(dataDir);
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
