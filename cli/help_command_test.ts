import assert from "node:assert/strict";
import { type Command, CommanderError } from "commander";
import { buildProgram } from "./program.ts";
import { buildDaemonProgram } from "./daemon/program.ts";

/** Parses `args` with every command's output captured; returns stdout, stderr and exit code. */
async function run(program: Command, args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const capture = (cmd: Command) => {
    cmd.configureOutput({ writeOut: (s) => void out.push(s), writeErr: (s) => void err.push(s) });
    cmd.commands.forEach(capture);
  };
  capture(program);
  let exitCode = -1;
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    exitCode = e.exitCode;
  }
  return { out: out.join(""), err: err.join(""), exitCode };
}

Deno.test("help: `help a b` shows the help of the nested command, as `a b --help` does", async () => {
  for (const path of [["service", "create"], ["service", "list"], ["cluster", "join-token"]]) {
    const viaHelp = await run(buildProgram(), ["help", ...path]);
    const viaFlag = await run(buildProgram(), [...path, "--help"]);
    assert.equal(viaHelp.exitCode, 0);
    assert.equal(viaFlag.exitCode, 0);
    assert.match(
      viaHelp.out,
      new RegExp(`^Usage: warren ${path[0]} (create|ls\\|list|join-token) `),
    );
    assert.equal(viaHelp.out, viaFlag.out, path.join(" "));
  }
  // One word and none, as before.
  assert.equal(
    (await run(buildProgram(), ["help", "service"])).out,
    (await run(buildProgram(), ["service", "--help"])).out,
  );
  assert.match((await run(buildProgram(), ["help"])).out, /^Usage: warren \[options\] \[command\]/);
  // The daemons' program too.
  const daemon = await run(buildDaemonProgram(), ["help", "cluster", "init"]);
  assert.match(daemon.out, /^Usage: warren cluster init /);
});

Deno.test("help: a word that is no command is a usage error naming where it was looked for", async () => {
  const r = await run(buildProgram(), ["help", "service", "nope"]);
  assert.equal(r.exitCode, 2);
  assert.equal(r.out, "");
  assert.match(r.err, /^error: unknown command 'nope' \(under 'warren service'\)/);
});
