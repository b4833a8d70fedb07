import assert from "node:assert/strict";
import { buildDaemonProgram, startsDaemon } from "./program.ts";
import { buildProgram } from "../program.ts";

Deno.test("daemon program: only daemon starts take the short program", () => {
  for (const args of [["cluster", "init", "--manager-only"], ["join", "m:1", "--token", "T"]]) {
    assert.equal(startsDaemon(args), true, args.join(" "));
  }
  for (
    const args of [
      ["cluster", "info"],
      ["cluster", "init", "--help"],
      ["service", "ls"],
      ["worker"],
      [],
      ["--version"],
    ]
  ) assert.equal(startsDaemon(args), false, args.join(" "));
});

Deno.test("daemon program: every daemon start parses in both programs alike", () => {
  const names = (p: ReturnType<typeof buildProgram>, path: string[]) => {
    let c = p;
    for (const w of path) c = c.commands.find((x) => x.name() === w)!;
    return c.options.map((o) => o.flags).sort();
  };
  for (
    const path of [["cluster", "init"], ["cluster", "join"], ["manager", "join"], ["join"], [
      "worker",
      "start",
    ]]
  ) {
    assert.ok(startsDaemon(path));
    assert.deepEqual(names(buildDaemonProgram(), path), names(buildProgram(), path));
  }
});

Deno.test("daemon program: every command that can run a worker takes the same worker flags", () => {
  const program = buildDaemonProgram();
  const find = (path: string[]) => {
    let c = program;
    for (const w of path) c = c.commands.find((x) => x.name() === w)!;
    return c;
  };
  const workerFlags = (path: string[]) =>
    find(path).options
      .filter((o) =>
        ["--containerd-socket", "--drain-on-exit", "--metrics-addr", "--insecure-registry"]
          .includes(o.long ?? "")
      )
      .map((o) => `${o.flags}: ${o.description}`);
  const init = workerFlags(["cluster", "init"]);
  assert.equal(init.length, 4, init.join("\n"));
  for (const path of [["join"], ["cluster", "join"], ["manager", "join"], ["worker", "start"]]) {
    assert.deepEqual(workerFlags(path), init, path.join(" "));
  }
});

Deno.test("daemon program: a daemon command's usage error exits 2, as every other command's", async () => {
  // Commander prints each message itself (on stderr); what matters here is the exit code, and
  // that commander throws instead of exiting the process (with 1, a failed command's code).
  const { main } = await import("../main.ts");
  for (
    const args of [
      ["cluster", "init", "--bogus"],
      ["join"],
      ["manager", "join"],
      ["cluster", "join"],
      ["worker", "start", "--bogus"],
      ["cluster", "leave", "--bogus"],
      ["cert", "create", "ops"],
      ["cert", "bogus"],
    ]
  ) assert.equal(await main(args), 2, args.join(" "));
});
