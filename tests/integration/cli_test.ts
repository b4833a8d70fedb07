/**
 * The `warren` CLI end to end: a real single-node manager (`warren cluster init` as a child
 * process on 127.0.0.1 with free ports) and the client commands run as `deno run -A
 * cli/main.ts ...`, checking output and exit codes for good and bad input.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";

const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A manager started with `warren cluster init`; disposing stops it and removes its data. */
async function startManager(): Promise<{ address: string; dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "warren-cli-it-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "cluster",
      "init",
      "--data-dir",
      join(dir, "data"),
      "--api-addr",
      "127.0.0.1:0",
      "--raft-addr",
      "127.0.0.1:0",
      "--http-addr",
      "127.0.0.1:0",
      "--advertise-addr",
      "127.0.0.1",
      "--manager-only",
    ],
    // The daemon writes the admin credentials (mutual TLS) where the CLI calls below read them.
    env: { WARREN_CONFIG: join(dir, "cli", "config.json") },
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 10_000);
    await child.status;
    clearTimeout(timer);
    await Deno.remove(dir, { recursive: true });
  };
  try {
    // The daemon prints "cluster <id> running; manager <id> at <host:port>" once it serves.
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    const deadline = setTimeout(() => reader.cancel(), 60_000);
    let address: string | undefined;
    while (address === undefined) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`manager did not start; output: ${seen}`);
      seen += value;
      address = /running; manager \S+ at (\S+)/.exec(seen)?.[1];
    }
    clearTimeout(deadline);
    // Keep draining stdout so the child never blocks on a full pipe.
    (async () => {
      while (!(await reader.read().catch(() => ({ done: true }))).done) { /* drain */ }
    })();
    configPath = join(dir, "cli", "config.json");
    return { address, dir, [Symbol.asyncDispose]: stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The CLI config the test manager wrote (its TLS files); managers still come from flags/env. */
let configPath = "/nonexistent/warren.json";

/** Runs the CLI with the test manager's config (TLS credentials). */
async function warren(
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string } = {},
): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { WARREN_CONFIG: configPath, ...opts.env },
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

function ok(r: Run): string {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

Deno.test({
  name: "cli: client commands against a real single-node manager",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    await using mgr = await startManager();
    const m = ["--manager", mgr.address];
    const env = { WARREN_MANAGER: mgr.address };

    await t.step("no manager configured is a clear error", async () => {
      const r = await warren(["service", "ls"], {
        env: { WARREN_CONFIG: "/nonexistent/warren.json" },
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no manager address: pass --manager HOST:PORT, set WARREN_MANAGER/);
    });

    await t.step("cluster info and node ls", async () => {
      assert.match(ok(await warren(["cluster", "info", ...m])), /^Managers: +1$/m);
      const info = JSON.parse(ok(await warren(["cluster", "info", "-o", "json"], { env })));
      assert.equal(info.managers, 1);
      const nodes = ok(await warren(["node", "ls", ...m])).trimEnd().split("\n");
      assert.match(nodes[0]!, /^ID +HOSTNAME +STATUS +AVAILABILITY +ROLE +ADDRESS +VERSION$/);
      assert.equal(nodes.length, 2);
      assert.match(nodes[1]!, /manager \(leader\)/);
      assert.equal(ok(await warren(["node", "ls", "-q", ...m])).trim(), info.raft.leaderId);
    });

    await t.step(
      "--manager before the command; an empty one; help of a nested command",
      async () => {
        // Like the command's own --manager, and over WARREN_MANAGER (which points nowhere here).
        assert.match(
          ok(await warren(["--manager", mgr.address, "cluster", "info"])),
          /^Managers: +1$/m,
        );
        const nowhere = { WARREN_MANAGER: "127.0.0.1:1" };
        assert.match(
          ok(await warren(["--manager", mgr.address, "node", "ls", "-q"], { env: nowhere })),
          /^[a-z0-9]+$/m,
        );
        // Empty: an error, not a fall back to WARREN_MANAGER or the config (both would work).
        for (const args of [["--manager", "", "node", "ls"], ["node", "ls", "--manager", ""]]) {
          const r = await warren(args, { env });
          assert.equal(r.code, 1, args.join(" "));
          assert.equal(r.stdout, "");
          assert.match(r.stderr, /^error: --manager: "" names no manager: it must be HOST:PORT/m);
        }
        const help = ok(await warren(["help", "service", "create"]));
        assert.match(help, /^Usage: warren service create \[options\] <name>/);
        assert.equal(help, ok(await warren(["service", "create", "--help"])));
      },
    );

    await t.step("cluster leave finds the node's manager without --manager", async () => {
      const dataDir = join(mgr.dir, "data");
      // The only manager may not leave: the refusal shows it was found and asked.
      const refused = (r: Run) => {
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /is the cluster.s only manager: leaving ends the cluster/);
      };
      // From what its daemon recorded in the data dir (no CLI config, no WARREN_MANAGER).
      refused(
        await warren(["cluster", "leave", "--data-dir", dataDir], {
          env: { WARREN_CONFIG: "/nonexistent/warren.json" },
        }),
      );
      // From the CLI config 'cluster init' wrote.
      const record = join(dataDir, "managers.json");
      await Deno.rename(record, `${record}.bak`);
      try {
        refused(await warren(["cluster", "leave", "--data-dir", dataDir]));
      } finally {
        await Deno.rename(`${record}.bak`, record);
      }
    });

    let webId = "";
    await t.step("service create, ls, inspect, ps", async () => {
      webId = ok(
        await warren([
          "service",
          "create",
          "web",
          "--image",
          "busybox:1.36",
          "--replicas",
          "2",
          "--publish",
          "8080:80",
          "--env",
          "A=1",
          "--limit-memory",
          "64M",
          ...m,
          "--",
          "httpd",
          "-f",
        ]),
      ).trim();
      assert.match(webId, /^[a-z0-9]+$/);
      const ls = ok(await warren(["service", "ls", ...m]));
      assert.match(ls, /^ID +NAME +MODE +REPLICAS +IMAGE +PORTS$/m);
      assert.match(
        ls,
        new RegExp(`^${webId} +web +replicated +\\d/2 +busybox:1.36 +\\*:8080->80/tcp$`, "m"),
      );
      assert.equal(ok(await warren(["service", "ls", "-q", ...m])).trim(), webId);
      // Always an array, as from `docker inspect`, so scripts need not care how many they asked.
      const one = JSON.parse(ok(await warren(["service", "inspect", "web", ...m])));
      assert.deepEqual(one.map((s: { id: string }) => s.id), [webId]);
      // A unique ID prefix finds it too, as in Docker.
      const byPrefix = JSON.parse(
        ok(await warren(["service", "inspect", webId.slice(0, 6), ...m])),
      );
      assert.deepEqual(byPrefix.map((s: { id: string }) => s.id), [webId]);
      const [svc] = parseYaml(ok(await warren(["service", "inspect", "web", "-o", "yaml", ...m])));
      assert.deepEqual(svc.spec.args, ["httpd", "-f"]);
      assert.equal(svc.spec.resources.limits.memoryBytes, 64 * 1024 * 1024);
      const ps = ok(await warren(["service", "ps", "web", ...m]));
      assert.match(ps, /^\S+ +web\.1 /m);
      assert.match(ps, /^\S+ +web\.2 /m);
    });

    await t.step("a published port another service holds is refused", async () => {
      const create = (name: string, publish: string) =>
        warren(["service", "create", name, "--image", "busybox:1.36", "--publish", publish, ...m]);
      const inUse = (r: Run) => {
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(
          r.stderr,
          /^error: spec\.ports\[0\]\.published: port 8080\/tcp is already in use by service "web"/m,
        );
      };
      inUse(await create("p2", "8080:80"));
      inUse(await create("p2", "mode=host,8080:80"));
      ok(await warren(["service", "create", "p2", "--image", "busybox:1.36", ...m]));
      inUse(await warren(["service", "update", "p2", "--publish", "8080:80", ...m]));
      // UDP on the same number is another port.
      ok(await warren(["service", "update", "p2", "--publish", "8080:80/udp", ...m]));
      const ls = ok(await warren(["service", "ls", ...m]));
      assert.equal(ls.match(/\*:8080->80\/tcp/g)?.length, 1, ls);
      ok(await warren(["service", "rm", "p2", ...m]));
    });

    await t.step("bad input is rejected before anything is sent", async () => {
      const badPublish = await warren([
        "service",
        "create",
        "api",
        "--image",
        "x:1",
        "--publish",
        "80:http",
        ...m,
      ]);
      assert.equal(badPublish.code, 1);
      assert.match(badPublish.stderr, /^error: --publish: "80:http" must be/m);
      const badName = await warren(["service", "create", "Api", "--image", "x:1", ...m]);
      assert.equal(badName.code, 1);
      assert.match(badName.stderr, /^error: NAME: must be a DNS label/m);
      const badMem = await warren([
        "service",
        "create",
        "api",
        "--image",
        "x:1",
        "--limit-memory",
        "lots",
        ...m,
      ]);
      assert.equal(badMem.code, 1);
      assert.match(badMem.stderr, /--limit-memory: "lots" must be an amount of memory/);
      const usage = await warren([
        "service",
        "create",
        "api",
        "--image",
        "x:1",
        "--mode",
        "sometimes",
        ...m,
      ]);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /Allowed choices are replicated, global/);
      assert.equal((await warren(["service", "create", "--bogus", ...m])).code, 2);
      assert.equal((await warren(["node", "ls", "-o", "xml", ...m])).code, 2);
      // inspect prints JSON (or YAML), never a table, and its help says so.
      assert.match(
        ok(await warren(["service", "inspect", "--help"])),
        /choices: "json", "yaml", default:\s+"json"/,
      );
      assert.equal((await warren(["volume", "inspect", "x", "-o", "table", ...m])).code, 2);
      assert.equal(ok(await warren(["service", "ls", "-q", ...m])).trim(), webId);
      const missing = await warren(["service", "inspect", "nope", ...m]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /service "nope" not found/);
      assert.deepEqual(JSON.parse(missing.stdout), []);
      // Like `docker inspect`: what was found on stdout, each missing name on stderr, exit 1.
      const some = await warren(["service", "inspect", "web", "nope", "nah", ...m]);
      assert.equal(some.code, 1, some.stderr);
      assert.deepEqual(JSON.parse(some.stdout).map((s: { id: string }) => s.id), [webId]);
      assert.deepEqual(some.stderr.split("\n").filter((l) => l.startsWith("error:")), [
        'error: service "nope" not found',
        'error: service "nah" not found',
      ]);
      const noLogs = await warren(["service", "logs", "nosuchsvc", ...m]);
      assert.equal(noLogs.code, 1);
      assert.match(noLogs.stderr, /^error: service or task "nosuchsvc" not found$/m);
      const longDelay = await warren([
        "service",
        "create",
        "api",
        "--image",
        "x:1",
        "--update-delay",
        "99999999999h",
        ...m,
      ]);
      assert.equal(longDelay.code, 1);
      assert.match(
        longDelay.stderr,
        /^error: --update-delay: must be at most 24h \(86400000 ms\)/m,
      );
    });

    await t.step("service update changes only what is given; scale; rollback", async () => {
      ok(await warren(["service", "update", "web", "--replicas", "3", "--env", "B=2", ...m]));
      const [after] = JSON.parse(
        ok(await warren(["service", "inspect", "web", "-o", "json", ...m])),
      );
      assert.equal(after.spec.replicas, 3);
      assert.deepEqual(after.spec.env, ["A=1", "B=2"]);
      assert.deepEqual(after.spec.ports, [{
        protocol: "tcp",
        target: 80,
        published: 8080,
        publishMode: "ingress",
      }]);
      const same = await warren(["service", "update", "web", ...m]);
      assert.equal(same.code, 0);
      assert.match(same.stderr, /service web: no change/);
      const scaled = await warren(["service", "scale", "web=1", ...m]);
      assert.equal(ok(scaled).trim(), "web scaled to 1");
      assert.equal((await warren(["service", "scale", "web", ...m])).code, 1);
      const [before] = JSON.parse(
        ok(await warren(["service", "inspect", "web", "-o", "json", ...m])),
      );
      assert.ok(before.previousSpec, "an updated service keeps its previous spec");
      ok(await warren(["service", "rollback", "web", ...m]));
      const [rolled] = JSON.parse(
        ok(await warren(["service", "inspect", "web", "-o", "json", ...m])),
      );
      assert.deepEqual(rolled.spec, before.previousSpec);
      // As in Swarm a scale is an update: a rollback restores the count, replacing no task.
      ok(
        await warren([
          "service",
          "create",
          "sc",
          "--image",
          "busybox:1.36",
          "--replicas",
          "2",
          ...m,
        ]),
      );
      assert.equal(ok(await warren(["service", "scale", "sc=4", ...m])).trim(), "sc scaled to 4");
      ok(await warren(["service", "rollback", "sc", ...m]));
      const [sc] = JSON.parse(ok(await warren(["service", "inspect", "sc", ...m])));
      assert.deepEqual([sc.spec.replicas, sc.previousSpec?.replicas], [2, 4]);
      assert.equal(sc.specVersion, 1, "no task was replaced");
      ok(await warren(["service", "rm", "sc", ...m]));
    });

    await t.step("apply plans, applies and is idempotent", async () => {
      const file = join(mgr.dir, "stack.yaml");
      await Deno.writeTextFile(
        file,
        [
          "kind: Service",
          "spec: { name: web, image: 'busybox:1.36', replicas: 4, args: [httpd, -f], env: [A=1, B=2],",
          "        ports: [{ target: 80, published: 8080 }], resources: { limits: { memoryBytes: 67108864 } } }",
          "---",
          "kind: Service",
          "name: api",
          "image: busybox:1.36",
          "---",
          "kind: Volume",
          "name: data",
        ].join("\n"),
      );
      const plan = await warren(["apply", "-f", file, "--plan", ...m]);
      assert.equal(plan.code, 2, plan.stderr);
      assert.match(plan.stdout, /^\+ volume data: create$/m);
      assert.match(plan.stdout, /^~ service web: update$/m);
      assert.match(plan.stdout, /^ {4}replicas: [0-35-9] -> 4$/m);
      assert.match(plan.stdout, /^\+ service api: create$/m);
      ok(await warren(["apply", "-f", file, ...m]));
      const again = await warren(["apply", "-f", file, "--plan", ...m]);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /0 to create, 0 to update, 3 unchanged/);
      const bad = await warren(["apply", "-f", "-", "--plan", ...m], {
        stdin: "kind: Job\nname: x\n",
      });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /doc\[0\]\.kind: must be Service, Secret or Volume/);
      assert.equal(ok(await warren(["volume", "ls", "-q", ...m])).trim().split("\n").length, 1);

      // Secrets: the manager compares the data (clients never read it back), so the same value
      // changes nothing and a new one makes a new version.
      const secretDoc = (value: string) => `kind: Secret\nname: apply-s\nvalue: ${value}\n`;
      const version = async () =>
        JSON.parse(ok(await warren(["secret", "inspect", "apply-s", "-o", "json", ...m])))[0]
          .version;
      ok(await warren(["apply", "-f", "-", ...m], { stdin: secretDoc("one") }));
      assert.equal(await version(), 1);
      const same = await warren(["apply", "-f", "-", "--plan", ...m], { stdin: secretDoc("one") });
      assert.equal(same.code, 0, same.stdout + same.stderr);
      assert.match(same.stdout, /^= secret apply-s: unchanged$/m);
      ok(await warren(["apply", "-f", "-", ...m], { stdin: secretDoc("one") }));
      assert.equal(await version(), 1, "the same data makes no new version");
      const changed = await warren(["apply", "-f", "-", "--plan", ...m], {
        stdin: secretDoc("two"),
      });
      assert.equal(changed.code, 2, changed.stdout + changed.stderr);
      assert.match(changed.stdout, /^~ secret apply-s: update \(a new version 2/m);
      assert.equal(await version(), 1, "--plan changes nothing");
      ok(await warren(["apply", "-f", "-", ...m], { stdin: secretDoc("two") }));
      assert.equal(await version(), 2);
      ok(await warren(["secret", "rm", "apply-s", ...m])); // later steps start with no secrets
    });

    await t.step(
      "apply applies a file whole or not at all; --plan finds the same errors",
      async () => {
        ok(
          await warren([
            "service",
            "create",
            "gl",
            "--image",
            "busybox:1.36",
            "--mode",
            "global",
            ...m,
          ]),
        );
        // What exists, and the spec versions of the services the files would update.
        const state = async () =>
          (await Promise.all([
            warren(["service", "ls", "-q", ...m]).then(ok),
            warren(["secret", "ls", "-q", ...m]).then(ok),
            warren(["volume", "ls", "-q", ...m]).then(ok),
            ...["gl", "api"].map(async (name) =>
              JSON.parse(ok(await warren(["service", "inspect", name, "-o", "json", ...m])))[0]
                .specVersion
            ),
          ])).join("\n");
        const before = await state();
        const refused = async (file: string, errors: RegExp[]) => {
          for (const plan of [["--plan"], []]) {
            const r = await warren(["apply", "-f", "-", ...plan, ...m], { stdin: file });
            assert.equal(r.code, 1, `${plan} ${r.stdout}${r.stderr}`);
            for (const e of errors) assert.match(r.stderr, e);
            assert.match(
              r.stderr,
              /^error: 1 object\(s\) cannot be applied; nothing was changed$/m,
            );
            assert.doesNotMatch(r.stderr, /: created$/m);
          }
          assert.equal(await state(), before, "nothing was applied");
        };
        await refused(
          [
            "kind: Secret\nname: hr-secret\nvalue: x",
            "kind: Service\nname: hr-good\nimage: busybox:1.36\nsecrets: [{ secret: hr-secret }]",
            "kind: Service\nname: hr-bad\nimage: busybox:1.36\nsecrets: [{ secret: does-not-exist }]",
          ].join("\n---\n"),
          [/^error: service hr-bad: spec\.secrets\[0\]\.secret: secret "does-not-exist" does not exist/m],
        );
        await refused(
          [
            "kind: Secret\nname: gl-secret\nvalue: x",
            "kind: Volume\nname: gl-data",
            "kind: Service\nname: gl\nimage: busybox:1.36\nmode: replicated",
          ].join("\n---\n"),
          [/^error: service gl: spec\.mode: cannot change from global to replicated/m],
        );
        await refused(
          [
            "kind: Service\nname: mc-new\nimage: busybox:1.36",
            "kind: Service\nname: api\nimage: busybox:1.36\nregistryAuthSecret: nosuch",
          ].join("\n---\n"),
          [/^error: service api: spec\.registryAuthSecret: secret "nosuch" does not exist/m],
        );
        await refused(
          [
            "kind: Service\nname: mc-new\nimage: busybox:1.36",
            "kind: Service\nname: pt\nimage: busybox:1.36\nports: [{ target: 80, published: 8080 }]",
          ].join("\n---\n"),
          [/^error: service pt: spec\.ports\[0\]\.published: port 8080\/tcp is already in use by service "web"/m],
        );
        const plan = await warren(["apply", "-f", "-", "--plan", ...m], {
          stdin: "kind: Service\nname: gl\nimage: busybox:1.36\nmode: replicated",
        });
        assert.match(plan.stdout, /^! service gl: conflict \(spec\.mode: cannot change/m);
        const bogus = await warren(["apply", "-f", "-", ...m], {
          stdin: "kind: Service\nspec: { name: x, image: 'busybox:1.36' }\nbogus: 1\n",
        });
        assert.equal(bogus.code, 1);
        assert.match(bogus.stderr, /^error: doc\[0\]\.bogus: is not a known field/m);
        assert.equal(await state(), before);
        ok(await warren(["service", "rm", "gl", ...m]));
      },
    );

    await t.step("events stream until interrupted and resume by index", async () => {
      /** The first event `warren events ARGS -o json` prints, and its exit code after Ctrl-C. */
      const firstEvent = async (args: string[]) => {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", MAIN, "events", ...args, "-o", "json", ...m],
          env: { WARREN_CONFIG: configPath },
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
        let text = "";
        while (!text.includes("\n")) {
          const { value, done } = await reader.read();
          if (done) break;
          text += value;
        }
        child.kill("SIGINT");
        const status = await child.status;
        reader.releaseLock();
        await child.stdout.cancel().catch(() => {});
        await child.stderr.cancel().catch(() => {});
        return { first: JSON.parse(text.split("\n")[0]!), code: status.code };
      };
      // Watching from a fixed index has no race with the create below: history covers it.
      const info = JSON.parse(ok(await warren(["cluster", "info", "-o", "json", ...m])));
      const from = info.raft.index + 1;
      ok(await warren(["service", "create", "ev", "--image", "busybox:1.36", ...m]));
      const { first, code } = await firstEvent([
        "--since-index",
        String(from),
        "--kind",
        "service",
      ]);
      assert.equal(first.kind, "service");
      assert.equal(first.service.spec.name, "ev");
      assert.ok(first.index >= from);
      assert.equal(code, 0);
      // From the start, before the bootstrap snapshot the history starts at: nothing happened
      // before it, so nothing is missing; the first event is the manager's node joining.
      const fromStart = await firstEvent(["--since-index", "1"]);
      assert.deepEqual([fromStart.first.kind, fromStart.first.action], ["node", "create"]);
      assert.equal(fromStart.code, 0);
      const badKind = await warren(["events", "--kind", "pod", ...m]);
      assert.equal(badKind.code, 2);
    });

    await t.step("rm reports each failure and exits 1", async () => {
      const r = await warren(["service", "rm", "web", "nope", "api", "ev", ...m]);
      assert.equal(r.code, 1);
      assert.deepEqual(r.stdout.trim().split("\n"), ["web", "api", "ev"]);
      assert.match(r.stderr, /service "nope" not found/);
      assert.equal(ok(await warren(["service", "ls", "-q", ...m])).trim(), "");
      ok(await warren(["volume", "rm", "data", ...m]));
      // Docker's -f: a volume that does not exist is no error.
      assert.equal((await warren(["volume", "rm", "data", ...m])).code, 1);
      assert.equal(ok(await warren(["volume", "rm", "-f", "data", ...m])).trim(), "data");
    });

    await t.step("secrets, volumes, nodes, join tokens and version", async () => {
      // Secrets: from a literal and from stdin; never printed back; bad names refused.
      ok(await warren(["secret", "create", "db-pass", "--from-literal", "s3cret", ...m]));
      ok(await warren(["secret", "create", "tls-key", ...m], { stdin: "-----KEY-----\n" }));
      const secrets = ok(await warren(["secret", "ls", ...m]));
      assert.match(secrets, /db-pass/);
      assert.match(secrets, /tls-key/);
      const inspected = ok(await warren(["secret", "inspect", "db-pass", "-o", "json", ...m]));
      assert.deepEqual(JSON.parse(inspected).map((s: { name: string }) => s.name), ["db-pass"]);
      assert.ok(!inspected.includes("s3cret") && !inspected.includes(btoa("s3cret")));
      const badName = await warren(["secret", "create", "Bad_Name", "--from-literal", "x", ...m]);
      assert.equal(badName.code, 1);
      assert.match(badName.stderr, /name/);
      const dup = await warren(["secret", "create", "db-pass", "--from-literal", "y", ...m]);
      assert.equal(dup.code, 1);
      assert.match(dup.stderr, /already exists/);
      ok(await warren(["secret", "rm", "db-pass", "tls-key", ...m]));
      assert.equal(ok(await warren(["secret", "ls", "-q", ...m])).trim(), "");

      // Volumes.
      ok(await warren(["volume", "create", "cache", ...m]));
      assert.match(ok(await warren(["volume", "ls", ...m])), /cache/);
      assert.equal(
        JSON.parse(ok(await warren(["volume", "inspect", "cache", "-o", "json", ...m])))[0].name,
        "cache",
      );
      ok(await warren(["volume", "rm", "cache", ...m]));
      const gone = await warren(["volume", "inspect", "cache", ...m]);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /not found/);
      // Bound to a node that does not exist, or with an option the local driver ignores: refused.
      const ghost = await warren(["volume", "create", "cv1", "--node", "nosuchnode", ...m]);
      assert.equal(ghost.code, 1, ghost.stdout + ghost.stderr);
      assert.match(ghost.stderr, /node "nosuchnode" not found/);
      for (const opt of ["bogus=1", "type=nfs"]) {
        const r = await warren(["volume", "create", "cv1", "--opt", opt, ...m]);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        const key = opt.split("=")[0];
        assert.match(r.stderr, new RegExp(`options\\.${key}: is not an option of the local`));
      }
      assert.equal(ok(await warren(["volume", "ls", "-q", ...m])).trim(), "");

      // Nodes: labels and availability; a bad value names the flag.
      const nodeId = ok(await warren(["node", "ls", "-q", ...m])).trim();
      ok(await warren(["node", "update", nodeId, "--label-add", "zone=edge", ...m]));
      ok(await warren(["node", "update", nodeId, "--availability", "drain", ...m]));
      const [node] = JSON.parse(ok(await warren(["node", "inspect", nodeId, "-o", "json", ...m])));
      assert.equal(node.labels.zone, "edge");
      assert.equal(node.availability, "drain");
      ok(
        await warren([
          "node",
          "update",
          nodeId,
          "--availability",
          "active",
          "--label-rm",
          "zone",
          ...m,
        ]),
      );
      assert.match(
        ok(await warren(["node", "ps", nodeId, ...m])),
        /^ID +NAME +NODE +DESIRED STATE/,
      );
      const noNode = await warren(["node", "ps", "nope", ...m]);
      assert.equal(noNode.code, 1);
      assert.match(noNode.stderr, /node "nope" not found/);
      const badAvail = await warren(["node", "update", nodeId, "--availability", "sleepy", ...m]);
      assert.notEqual(badAvail.code, 0);
      assert.match(badAvail.stderr, /availability/);

      // Join tokens: the same until rotated.
      const tok = () => warren(["cluster", "join-token", "worker", "-q", ...m]).then(ok);
      const t1 = (await tok()).trim();
      assert.match(t1, /^WRN1-/);
      assert.equal((await tok()).trim(), t1);
      const rotated = ok(await warren(["cluster", "join-token", "worker", "--rotate", ...m]));
      const t2 = (await tok()).trim();
      assert.notEqual(t2, t1);
      // The command to paste on the new node, with the address the manager advertises.
      assert.match(rotated, new RegExp(`warren join \\S+:\\d+ --token ${t2}`));

      assert.match(ok(await warren(["version"])), /\d+\.\d+\.\d+/);
    });

    await t.step("completion scripts come from the live command tree", async () => {
      const bash = ok(await warren(["completion", "bash"]));
      assert.match(bash, /complete -F _warren_complete warren/);
      assert.match(bash, /"cluster:init"\) cmdpath='cluster init'/);
    });
  },
});
