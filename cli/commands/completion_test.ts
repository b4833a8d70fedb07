import assert from "node:assert/strict";
import { buildProgram } from "../program.ts";
import { bashScript, completionTree, fishScript, zshScript } from "./completion.ts";

/** Runs the bash completion function for `line` (the word under the cursor is the last one). */
async function complete(script: string, line: string[]): Promise<string[]> {
  const words = ["warren", ...line].map((w) => `'${w}'`).join(" ");
  const program = [
    script,
    `COMP_WORDS=(${words}); COMP_CWORD=${line.length}`,
    "_warren_complete",
    `printf '%s\\n' "\${COMPREPLY[@]}"`,
  ].join("\n");
  const out = await new Deno.Command("bash", {
    args: ["-c", program],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).split("\n").filter((s) => s !== "").sort();
}

Deno.test("completion: the tree covers every command and flag of the program", () => {
  const tree = completionTree(buildProgram());
  const paths = tree.map((n) => n.path);
  for (
    const p of [
      "",
      "service",
      "service create",
      "node update",
      "cluster join-token",
      "apply",
      "events",
    ]
  ) {
    assert.ok(paths.includes(p), p);
  }
  const create = tree.find((n) => n.path === "service create")!;
  assert.ok(create.flags.includes("--publish") && create.flags.includes("-o"));
  assert.deepEqual(create.valueFlags.find((v) => v.flags.includes("--mode"))?.choices, [
    "replicated",
    "global",
  ]);
  assert.deepEqual(tree.find((n) => n.path === "cluster join-token")!.argChoices, [
    "worker",
    "manager",
  ]);
});

Deno.test("completion: bash completes commands, aliases, flags and flag values", async () => {
  const script = bashScript(buildProgram());
  assert.deepEqual(await complete(script, ["se"]), ["secret", "service"]);
  assert.deepEqual(await complete(script, ["service", "r"]), ["remove", "rm", "rollback"]);
  assert.deepEqual(await complete(script, ["service", "create", "web", "--mo"]), [
    "--mode",
    "--mount",
  ]);
  assert.deepEqual(await complete(script, ["service", "create", "--mode", ""]), [
    "global",
    "replicated",
  ]);
  assert.deepEqual(await complete(script, ["node", "ls", "-o", "j"]), ["json"]);
  assert.deepEqual(await complete(script, ["service", "list", "--q"]), ["--quiet"]);
  assert.deepEqual(await complete(script, ["cluster", "join-token", ""]), ["manager", "worker"]);
  assert.deepEqual(await complete(script, ["completion", "z"]), ["zsh"]);
});

Deno.test("completion: zsh and fish scripts list the same commands and are well formed", async () => {
  const program = buildProgram();
  const zsh = zshScript(program);
  const fish = fishScript(program);
  assert.match(zsh, /^#compdef warren/);
  assert.match(zsh, /"service:create"\) cmdpath='service create'/);
  assert.match(zsh, /"service create:--mode"\) compadd -- 'replicated' 'global'/);
  assert.match(fish, /complete -c warren -n "__warren_at 'service'" -a 'create'/);
  assert.match(fish, /-n "__warren_at 'service create'" -l mode -x -a 'replicated global'/);
  // No shell here parses zsh or fish; bash -n at least checks the shared case syntax of zsh.
  for (const [shell, script] of [["zsh", zsh], ["fish", fish]] as const) {
    const found = await new Deno.Command("sh", { args: ["-c", `command -v ${shell}`] }).output();
    if (found.code !== 0) continue;
    const check = await new Deno.Command(shell, { args: ["-n", "-c", script], stderr: "piped" })
      .output();
    assert.equal(check.code, 0, new TextDecoder().decode(check.stderr));
  }
});
