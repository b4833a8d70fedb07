import assert from "node:assert/strict";
import { ValidationError } from "../../proto/errors.ts";
import type { OciImageConfig } from "./oci.ts";
import { buildSpec, DEFAULT_CAPABILITIES, mergeEnv, SPEC_TYPE_URL, specToAny } from "./spec.ts";

const image: OciImageConfig = {
  architecture: "amd64",
  os: "linux",
  config: {
    Env: ["PATH=/bin", "A=1"],
    Entrypoint: ["/entry"],
    Cmd: ["--default"],
    WorkingDir: "/srv",
    User: "1000:1001",
  },
  rootfs: { type: "layers", diff_ids: [] },
};

Deno.test("buildSpec: image defaults fill the process", () => {
  const s = buildSpec({ id: "0123456789abcdef", image });
  assert.deepEqual(s.process.args, ["/entry", "--default"]);
  assert.deepEqual(s.process.env, ["PATH=/bin", "A=1"]);
  assert.equal(s.process.cwd, "/srv");
  // The image's User is resolved by the caller (user.ts): without a resolved user, root.
  assert.deepEqual(s.process.user, { uid: 0, gid: 0 });
  assert.equal(s.hostname, "0123456789ab");
  assert.equal(s.linux.cgroupsPath, "/warren/0123456789abcdef");
  assert.deepEqual(s.process.capabilities.bounding, [...DEFAULT_CAPABILITIES]);
  assert.equal(s.root.readonly, false);
  assert.equal(s.process.noNewPrivileges, false, "Docker's default: setuid programs work");
  assert.deepEqual(s.mounts.map((m) => m.destination), [
    "/proc",
    "/dev",
    "/dev/pts",
    "/dev/shm",
    "/dev/mqueue",
    "/sys",
    "/sys/fs/cgroup",
  ]);
});

Deno.test("buildSpec: command replaces cmd; entrypoint replaces both (Docker semantics)", () => {
  assert.deepEqual(buildSpec({ id: "x", image, command: ["run"] }).process.args, ["/entry", "run"]);
  assert.deepEqual(buildSpec({ id: "x", image, entrypoint: ["/bin/sh"] }).process.args, [
    "/bin/sh",
  ]);
  assert.deepEqual(
    buildSpec({ id: "x", image, entrypoint: ["/bin/sh"], command: ["-c", "true"] }).process.args,
    ["/bin/sh", "-c", "true"],
  );
  assert.throws(() => buildSpec({ id: "x" }), ValidationError);
});

Deno.test("buildSpec: env overrides by key and PATH is always set", () => {
  assert.deepEqual(buildSpec({ id: "x", image, env: ["A=2", "B=3"] }).process.env, [
    "PATH=/bin",
    "A=2",
    "B=3",
  ]);
  const bare = buildSpec({ id: "x", command: ["/x"] }).process.env;
  assert.ok(bare[0].startsWith("PATH=/usr/local/sbin"));
  assert.deepEqual(mergeEnv(["K=1"], null, ["K=2", "FLAG"]), ["K=2", "FLAG"]);
});

Deno.test("buildSpec: network modes map to namespaces", () => {
  const ns = (n: Parameters<typeof buildSpec>[0]["network"]) =>
    buildSpec({ id: "x", command: ["/x"], network: n }).linux.namespaces;
  assert.deepEqual(ns(undefined).find((n) => n.type === "network"), { type: "network" });
  assert.equal(ns({ mode: "host" }).find((n) => n.type === "network"), undefined);
  assert.deepEqual(ns({ mode: "netns", path: "/run/netns/a" }).find((n) => n.type === "network"), {
    type: "network",
    path: "/run/netns/a",
  });
});

Deno.test("buildSpec: limits, capabilities, read-only root, extra mounts", () => {
  const s = buildSpec({
    id: "x",
    command: ["/x"],
    cpus: 0.5,
    cpuShares: 512,
    memoryBytesMax: 64 * 1024 * 1024,
    pidsMax: 100,
    capAdd: ["net_admin"],
    capDrop: ["CAP_NET_RAW"],
    readonlyRootfs: true,
    mounts: [
      { type: "tmpfs", destination: "/scratch" },
      { source: "/host/data", destination: "/data", readonly: true },
    ],
  });
  assert.deepEqual(s.linux.resources.cpu, { shares: 512, quota: 50_000, period: 100_000 });
  assert.deepEqual(s.linux.resources.memory, { limit: 64 * 1024 * 1024 });
  assert.deepEqual(s.linux.resources.pids, { limit: 100 });
  assert.ok(s.process.capabilities.effective.includes("CAP_NET_ADMIN"));
  assert.ok(!s.process.capabilities.effective.includes("CAP_NET_RAW"));
  assert.equal(s.root.readonly, true);
  assert.deepEqual(s.mounts.at(-2), {
    destination: "/scratch",
    type: "tmpfs",
    source: "tmpfs",
    options: ["nosuid", "nodev", "mode=1777", "rw"],
  });
  assert.deepEqual(s.mounts.at(-1), {
    destination: "/data",
    type: "bind",
    source: "/host/data",
    options: ["rbind", "rprivate", "ro"],
  });
  assert.throws(
    () => buildSpec({ id: "x", command: ["/x"], memoryBytesMax: 1024 }),
    ValidationError,
  );
  assert.throws(() => buildSpec({ id: "x", command: ["/x"], cpus: 0 }), ValidationError);
  assert.throws(
    () => buildSpec({ id: "x", command: ["/x"], mounts: [{ source: "/a", destination: "rel" }] }),
    (err) => err instanceof ValidationError && err.field === "mounts[0].destination",
  );
});

Deno.test("buildSpec: the resolved user, with its supplementary groups, is the process's", () => {
  const user = { uid: 65534, gid: 65534, additionalGids: [27] };
  assert.deepEqual(buildSpec({ id: "x", image, user }).process.user, user);
});

Deno.test("specToAny: JSON under containerd's spec type URL", () => {
  const spec = buildSpec({ id: "x", command: ["/x"] });
  const any = specToAny(spec);
  assert.equal(any.typeUrl, SPEC_TYPE_URL);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(any.value)), spec);
});
