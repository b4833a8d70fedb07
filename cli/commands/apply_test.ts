import assert from "node:assert/strict";
import { join } from "node:path";
import { FailedPreconditionError, ValidationError } from "../../proto/errors.ts";
import type { ServiceSpec } from "../../proto/schema/mod.ts";
import type { WarrenClient } from "../../net/client/client.ts";
import { ExitCode } from "../exit_code.ts";
import type { CliContext } from "./_context.ts";
import { applyCommand } from "./apply.ts";

/**
 * A cluster that changes between plan and apply: the plan sees no services, then someone else
 * takes port 8080 before "b" is created.
 */
function racingContext(stdin: string, err: string[], created: string[]): CliContext {
  const client = {
    services: {
      list: () => Promise.resolve({ services: [], index: 1 }),
      create: (spec: ServiceSpec) => {
        if (spec.name === "b") {
          return Promise.reject(
            new FailedPreconditionError(
              'spec.ports[0].published: port 8080/tcp is already in use by service "x"',
            ),
          );
        }
        created.push(spec.name);
        return Promise.resolve({ id: spec.name, spec, specVersion: 1 });
      },
    },
    close() {},
  } as unknown as WarrenClient;
  return {
    io: {
      out: () => {},
      err: (text) => err.push(text),
      readStdin: () => Promise.resolve(new TextEncoder().encode(stdin)),
    },
    env: () => undefined,
    now: () => 0,
    connect: () => Promise.resolve(client),
    interrupt: () => new AbortController().signal,
    configPath: "/nonexistent/warren.json",
  };
}

Deno.test("apply: a write refused after the plan (a race) says what was applied before it", async () => {
  const err: string[] = [];
  const created: string[] = [];
  const file = [
    "kind: Service\nname: a\nimage: x:1",
    "kind: Service\nname: b\nimage: x:1\nports: [{ target: 80, published: 8080 }]",
  ].join("\n---\n");
  const cmd = applyCommand(racingContext(file, err, created));
  await assert.rejects(
    () => cmd.parseAsync(["-f", "-", "--manager", "127.0.0.1:1"], { from: "user" }),
    (e: unknown) => {
      assert.ok(e instanceof ExitCode, String(e));
      assert.equal(e.code, 1);
      assert.deepEqual(e.message.split("\n"), [
        'error: service b: spec.ports[0].published: port 8080/tcp is already in use by service "x"',
        "error: stopped midway (did the cluster change since the plan?); applied before this " +
        "error: service a: created",
      ]);
      return true;
    },
  );
  assert.deepEqual(created, ["a"]);
  assert.deepEqual(err, ["service a: created"]);
});

Deno.test("apply --plan: a volume pinned by host name, as created, plans nothing (exit 0)", async () => {
  const out: string[] = [];
  const client = {
    volumes: {
      list: () =>
        Promise.resolve({
          volumes: [{
            id: "v1",
            name: "data",
            driver: "local",
            nodeId: "n1",
            options: {},
            labels: {},
            createdAt: 1,
            updatedAt: 1,
          }],
          index: 1,
        }),
    },
    nodes: { list: () => Promise.resolve({ nodes: [{ id: "n1", hostname: "edge-1" }], index: 1 }) },
    close() {},
  } as unknown as WarrenClient;
  const ctx: CliContext = {
    io: {
      out: (text) => out.push(text),
      err: () => {},
      readStdin: () =>
        Promise.resolve(new TextEncoder().encode("kind: Volume\nname: data\nnodeId: edge-1")),
    },
    env: () => undefined,
    now: () => 0,
    connect: () => Promise.resolve(client),
    interrupt: () => new AbortController().signal,
    configPath: "/nonexistent/warren.json",
  };
  await assert.rejects(
    () =>
      applyCommand(ctx).parseAsync(["-f", "-", "--plan", "--manager", "127.0.0.1:1"], {
        from: "user",
      }),
    (e: unknown) => e instanceof ExitCode && e.code === 0,
  );
  assert.deepEqual(out, ["= volume data: unchanged\n0 to create, 0 to update, 1 unchanged"]);
});

/** A cluster with nothing in it, for plans; `out` collects what apply prints. */
function emptyClusterContext(out: string[]): CliContext {
  const client = {
    services: { list: () => Promise.resolve({ services: [], index: 1 }) },
    secrets: { list: () => Promise.resolve({ secrets: [], index: 1 }) },
    volumes: { list: () => Promise.resolve({ volumes: [], index: 1 }) },
    close() {},
  } as unknown as WarrenClient;
  return {
    io: { out: (text) => out.push(text), err: () => {}, readStdin: () => Promise.reject() },
    env: () => undefined,
    now: () => 0,
    connect: () => Promise.resolve(client),
    interrupt: () => new AbortController().signal,
    configPath: "/nonexistent/warren.json",
  };
}

Deno.test("apply -f A -f B: applies both files as one, each resolving its own secret files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-apply-" });
  try {
    await Deno.mkdir(join(dir, "sub"));
    await Deno.writeTextFile(join(dir, "sub", "pw"), "secret");
    const a = join(dir, "a.yaml");
    const b = join(dir, "sub", "b.yaml");
    await Deno.writeTextFile(a, "kind: Service\nname: web\nimage: x:1");
    await Deno.writeTextFile(b, "kind: Secret\nname: pw\nfile: pw\n---\nkind: Volume\nname: v");
    const out: string[] = [];
    await assert.rejects(
      () =>
        applyCommand(emptyClusterContext(out)).parseAsync(
          ["-f", a, "-f", b, "--plan", "--manager", "127.0.0.1:1"],
          { from: "user" },
        ),
      (e: unknown) => e instanceof ExitCode && e.code === 2,
    );
    assert.deepEqual(out[0]!.split("\n"), [
      "+ secret pw: create",
      "+ volume v: create",
      "+ service web: create",
      "3 to create, 0 to update, 0 unchanged",
    ]);

    // The same object in two files is declared twice, as within one file.
    await Deno.writeTextFile(b, "kind: Service\nname: web\nimage: x:2");
    await assert.rejects(
      () =>
        applyCommand(emptyClusterContext([])).parseAsync(
          ["-f", a, "-f", b, "--plan", "--manager", "127.0.0.1:1"],
          { from: "user" },
        ),
      (e: unknown) =>
        e instanceof ValidationError &&
        e.message === `${b} doc[0]: declares Service "web" again (already in ${a} doc[0])`,
    );
    // Stdin has one content: a second `-f -` would read nothing.
    await assert.rejects(
      () =>
        applyCommand(emptyClusterContext([])).parseAsync(
          ["-f", "-", "-f", "-", "--plan", "--manager", "127.0.0.1:1"],
          { from: "user" },
        ),
      (e: unknown) =>
        e instanceof ValidationError && e.message === "--file: - (stdin) can be given only once",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
