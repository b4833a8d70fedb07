import assert from "node:assert/strict";
import { Command } from "commander";
import { ValidationError } from "../../proto/errors.ts";
import type * as d from "../../proto/schema/mod.ts";
import {
  addServiceSpecFlags,
  applyServiceFlags,
  finishServiceSpec,
  flagForField,
  type ServiceFlags,
} from "./_service_spec.ts";

/** Parses argv with the real commander flags; returns the flags and the operands. */
function flags(argv: string[], update = false): { f: ServiceFlags; args: string[] } {
  const cmd = addServiceSpecFlags(
    new Command("x").exitOverride().configureOutput({ writeErr: () => {} }).argument("[cmd...]"),
    { update },
  );
  cmd.parse(argv, { from: "user" });
  return { f: cmd.opts() as ServiceFlags, args: cmd.args };
}

function create(name: string, argv: string[]): d.ServiceSpec {
  const { f, args } = flags(argv);
  return finishServiceSpec(applyServiceFlags({ name } as d.ServiceSpecInput, f, args));
}

function rejects(fn: () => unknown, flag: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationError, String(err));
    assert.equal(err.field, flag);
    assert.match(err.message, pattern);
    return true;
  });
}

Deno.test("service flags: create builds a complete spec", () => {
  const spec = create("web", [
    "--image=registry.local:5000/web:1.2",
    "--replicas=3",
    "--env=A=1",
    "--env=B=two",
    "--publish=8080:80",
    "--publish=mode=host,53:53/udp",
    "--secret=db-pass,target=pw",
    "--mount=type=volume,src=data,dst=/data,ro",
    "--constraint=node.labels.zone==edge",
    "--reserve-cpu=0.5",
    "--reserve-memory=256M",
    "--limit-cpu=1",
    "--limit-memory=512M",
    "--health-http=/healthz:80",
    "--health-interval=10s",
    "--health-retries=5",
    "--restart-condition=on-failure",
    "--restart-delay=2s",
    "--update-parallelism=2",
    "--update-order=start-first",
    "--update-max-failure-ratio=0.25",
    "--disconnect-grace=1m",
    "--label=tier=front",
    "--container-label=logs=json",
    "--",
    "httpd",
    "-f",
  ]);
  assert.equal(spec.image, "registry.local:5000/web:1.2");
  assert.equal(spec.replicas, 3);
  assert.deepEqual(spec.env, ["A=1", "B=two"]);
  assert.deepEqual(spec.args, ["httpd", "-f"]);
  assert.deepEqual(spec.ports, [
    { protocol: "tcp", target: 80, published: 8080, publishMode: "ingress" },
    { protocol: "udp", target: 53, published: 53, publishMode: "host" },
  ]);
  assert.deepEqual(spec.secrets, [{ secret: "db-pass", target: "pw", mode: 0o444 }]);
  assert.deepEqual(spec.mounts, [{
    type: "volume",
    source: "data",
    target: "/data",
    readOnly: true,
  }]);
  assert.deepEqual(spec.constraints, ["node.labels.zone==edge"]);
  assert.deepEqual(spec.resources, {
    limits: { nanoCpus: 1e9, memoryBytes: 512 * 2 ** 20 },
    reservations: { nanoCpus: 5e8, memoryBytes: 256 * 2 ** 20 },
  });
  assert.deepEqual(spec.healthCheck, {
    type: "http",
    http: { path: "/healthz", port: 80, statusMin: 200, statusMax: 399 },
    intervalMs: 10_000,
    timeoutMs: 5_000,
    retries: 5,
    startPeriodMs: 0,
  });
  assert.equal(spec.restartPolicy.condition, "on-failure");
  assert.equal(spec.restartPolicy.delayMs, 2000);
  assert.equal(spec.updateConfig.parallelism, 2);
  assert.equal(spec.updateConfig.order, "start-first");
  assert.equal(spec.updateConfig.maxFailureRatio, 0.25);
  assert.equal(spec.disconnectGraceMs, 60_000);
  assert.deepEqual(spec.labels, { tier: "front" });
  assert.deepEqual(spec.containerLabels, { logs: "json" });
  // Unset flags keep the schema defaults.
  assert.deepEqual(spec.restartPolicy.maxAttempts, 0);
  assert.equal(spec.mode, "replicated");
});

Deno.test("service flags: update changes only what is given", () => {
  const base = create("web", [
    "--image=web:1",
    "--replicas=2",
    "--env=A=1",
    "--env=B=2",
    "--publish=8080:80",
    "--publish=9090:90",
    "--label=a=1",
    "--container-label=c=1",
    "--container-label=d=2",
    "--constraint=node.role==worker",
    "--health-cmd=true",
    "--health-interval=5s",
  ]);
  const { f, args } = flags([
    "--env=A=10",
    "--env=C=3",
    "--env-rm=B",
    "--publish-rm=9090",
    "--publish=8080:8000",
    "--label-rm=a",
    "--container-label-rm=c",
    "--health-timeout=2s",
  ], true);
  const next = finishServiceSpec(applyServiceFlags(base, f, args));
  assert.deepEqual(next.env, ["A=10", "C=3"]);
  assert.deepEqual(next.ports.map((p) => [p.published, p.target]), [[8080, 8000]]);
  assert.deepEqual(next.labels, {});
  assert.deepEqual(next.containerLabels, { d: "2" });
  assert.equal(next.healthCheck?.intervalMs, 5000);
  assert.equal(next.healthCheck?.timeoutMs, 2000);
  assert.deepEqual(next.healthCheck?.exec, { command: ["/bin/sh", "-c", "true"] });
  // Everything not named by a flag is unchanged.
  assert.deepEqual({
    ...next,
    env: base.env,
    ports: base.ports,
    labels: base.labels,
    containerLabels: base.containerLabels,
    healthCheck: base.healthCheck,
  }, base);
  // No flags at all: the same spec.
  assert.deepEqual(finishServiceSpec(applyServiceFlags(base, flags([], true).f)), base);
  // Switching to global drops replicas; --no-healthcheck removes the check.
  const global = finishServiceSpec(
    applyServiceFlags(base, flags(["--mode=global", "--no-healthcheck"], true).f),
  );
  assert.equal(global.mode, "global");
  assert.equal(global.replicas, undefined);
  assert.equal(global.healthCheck, undefined);
});

Deno.test("service flags: schema errors name the flag that set the field", () => {
  rejects(
    () => create("web", ["--image=web:1", "--reserve-memory=1G", "--limit-memory=512M"]),
    "--reserve-memory",
    /must not exceed limits\.memoryBytes .*\(spec\.resources\.reservations\.memoryBytes\)/,
  );
  rejects(
    () => create("web", ["--image=web:1", "--limit-memory=1M"]),
    "--limit-memory",
    /at least 4 MiB/,
  );
  rejects(() => create("Web", ["--image=web:1"]), "NAME", /DNS label/);
  rejects(() => create("web", []), "--image", /is required/);
  rejects(
    () => create("web", ["--image=web:1", "--mode=global", "--replicas=2"]),
    "--replicas",
    /global mode/,
  );
  rejects(
    () => create("web", ["--image=web:1", "--publish=80:80", "--publish=80:81"]),
    "--publish",
    /publishes 80\/tcp again.*\(spec\.ports\[1\]\.published\)/,
  );
  rejects(
    () => create("web", ["--image=web:1", "--mount=type=volume,src=/abs,dst=/d"]),
    "--mount",
    /volume name/,
  );
  rejects(
    () => create("web", ["--image=web:1", "--health-interval=10s"]),
    "--health-interval",
    /needs a health check/,
  );
  rejects(
    () => create("web", ["--image=web:1", "--health-cmd=true", "--health-tcp=80"]),
    "--health-tcp",
    /cannot be combined with --health-cmd/,
  );
  rejects(
    () => create("web", ["--image=web:1", "--health-interval=50ms", "--health-tcp=80"]),
    "--health-interval",
    /at least 100 ms/,
  );
  rejects(() => create("web", ["--image=web:1", "--replicas=lots"]), "--replicas", /whole number/);
  // Too large, even past 2^53 ms: the maximum is named, not "an integer".
  for (const delay of ["25h", "99999999999h"]) {
    rejects(
      () => create("web", ["--image=web:1", `--update-delay=${delay}`]),
      "--update-delay",
      /^--update-delay: must be at most 24h \(86400000 ms\) \(spec\.updateConfig\.delayMs\)$/,
    );
  }
  rejects(
    () => create("web", ["--image=web:1", "--stop-grace-period=99999999999h"]),
    "--stop-grace-period",
    /must be at most 1h \(3600000 ms\)/,
  );
  assert.equal(flagForField("spec.updateConfig.order"), "--update-order");
  assert.equal(flagForField("spec.deployment.strategy"), undefined);
});

Deno.test("service flags: choices are usage errors from commander", () => {
  assert.throws(() => flags(["--mode=sometimes"]), /Allowed choices are replicated, global/);
  assert.throws(
    () => flags(["--restart-condition=always"]),
    /Allowed choices are none, on-failure, any/,
  );
});

Deno.test("service flags: --registry-auth-secret sets the login secret; update can remove it", () => {
  const spec = create("web", ["--image=reg.example/web:1", "--registry-auth-secret=reg-login"]);
  assert.equal(spec.registryAuthSecret, "reg-login");
  const { f } = flags(["--registry-auth-secret-rm"], true);
  const updated = finishServiceSpec(applyServiceFlags(spec, f));
  assert.equal(updated.registryAuthSecret, undefined);
  rejects(
    () => create("web", ["--image=web:1", "--registry-auth-secret=Not_A_Name"]),
    "--registry-auth-secret",
    /spec\.registryAuthSecret/,
  );
});

Deno.test("service flags: --publish-rm names a port by its published, else its target port", () => {
  const base = create("web", [
    "--image=web:1",
    "--publish=8080:80",
    "--publish=53:53/udp",
    "--publish=9000",
    "--publish=80:8080",
  ]);
  const rm = (...ports: string[]) =>
    finishServiceSpec(
      applyServiceFlags(base, flags(ports.map((p) => `--publish-rm=${p}`), true).f),
    ).ports.map((p) => `${p.published ?? "-"}:${p.target}/${p.protocol}`);
  // 80 is published (80:8080): that one goes, not 8080:80 whose container port is 80.
  assert.deepEqual(rm("80"), ["8080:80/tcp", "53:53/udp", "-:9000/tcp"]);
  // A port published at no fixed number is named by its container port.
  assert.deepEqual(rm("9000"), ["8080:80/tcp", "53:53/udp", "80:8080/tcp"]);
  assert.deepEqual(rm("53"), ["8080:80/tcp", "53:53/udp", "-:9000/tcp", "80:8080/tcp"]);
  assert.deepEqual(rm("53/udp", "8080"), ["-:9000/tcp", "80:8080/tcp"]);
  rejects(() => rm("http"), "--publish-rm", /"http" must be PORT\[\/tcp\|udp\]/);
});

Deno.test("service flags: --constraint-rm matches however the constraint was spaced or cased", () => {
  const base = create("web", [
    "--image=web:1",
    "--constraint=node.role == manager",
    "--constraint=node.labels.Zone==edge",
  ]);
  const next = (argv: string[]) =>
    finishServiceSpec(applyServiceFlags(base, flags(argv, true).f)).constraints;
  assert.deepEqual(next(["--constraint-rm=node.role==Manager"]), ["node.labels.Zone==edge"]);
  assert.deepEqual(next(["--constraint-rm= node.labels.Zone == edge"]), ["node.role == manager"]);
  // Label keys are case-sensitive: another key is another constraint.
  assert.equal(next(["--constraint-rm=node.labels.zone==edge"]).length, 2);
  // Adding one that is already there (spaced otherwise) replaces it instead of doubling it.
  assert.deepEqual(next(["--constraint=node.role==manager"]), [
    "node.role==manager",
    "node.labels.Zone==edge",
  ]);
});

Deno.test("service flags: update takes Swarm's --X-add spellings of the adding flags", () => {
  const base = create("web", ["--image=web:1", "--env=A=1", "--label=a=1"]);
  const { f } = flags([
    "--env-add=B=2",
    "--env=C=3",
    "--publish-add=8080:80",
    "--constraint-add=node.role==worker",
    "--placement-pref-add=spread=node.labels.zone",
    "--label-add=b=2",
    "--container-label-add=c=3",
    "--mount-add=type=tmpfs,dst=/tmp",
  ], true);
  const next = finishServiceSpec(applyServiceFlags(base, f));
  assert.deepEqual(next.env, ["A=1", "C=3", "B=2"]);
  assert.deepEqual(next.ports.map((p) => [p.published, p.target]), [[8080, 80]]);
  assert.deepEqual(next.constraints, ["node.role==worker"]);
  assert.deepEqual(next.preferences, [{ spread: "node.labels.zone" }]);
  assert.deepEqual(next.labels, { a: "1", b: "2" });
  assert.deepEqual(next.containerLabels, { c: "3" });
  assert.deepEqual(next.mounts.map((m) => m.target), ["/tmp"]);
  // A bad value is named by the flag it stands for; create has no such spelling.
  rejects(() => applyServiceFlags(base, flags(["--env-add=B"], true).f), "--env", /KEY=VALUE/);
  assert.throws(() => flags(["--env-add=B=2"]), /unknown option '--env-add/);
});

Deno.test("service flags: --stop-signal takes a name in any case, with or without SIG, as Docker", () => {
  for (const given of ["KILL", "kill", "sigkill", "SIGKILL"]) {
    assert.equal(create("web", ["--image=web:1", `--stop-signal=${given}`]).stopSignal, "SIGKILL");
  }
  assert.equal(create("web", ["--image=web:1", "--stop-signal=RTMIN+3"]).stopSignal, "SIGRTMIN+3");
  assert.equal(create("web", ["--image=web:1", "--stop-signal=9"]).stopSignal, "9");
  rejects(
    () => create("web", ["--image=web:1", "--stop-signal=NOPE"]),
    "--stop-signal",
    /not a signal/,
  );
});
