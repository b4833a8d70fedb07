/**
 * `deno task compile`: one self-contained `warren` binary per platform into dist/.
 * Needs the internet (deno compile downloads the `denort` runtime for each target); offline, use
 * `deno task bundle`, which produces dist/warren.js for `deno run -A`.
 * @module
 */
const TARGETS = [
  ["x86_64-unknown-linux-gnu", "warren-linux-amd64"],
  ["aarch64-unknown-linux-gnu", "warren-linux-arm64"],
  ["x86_64-apple-darwin", "warren-darwin-amd64"],
  ["aarch64-apple-darwin", "warren-darwin-arm64"],
] as const;

const only = Deno.args[0];
await Deno.mkdir("dist", { recursive: true });
for (const [target, name] of TARGETS) {
  if (only && only !== target && only !== name) continue;
  // Edge nodes have little memory: see V8_FLAGS in tests/integration/_cluster_procs.ts.
  const args = [
    "compile",
    "-A",
    "--v8-flags=--max-semi-space-size=2,--heap-growing-percent=20",
    "--target",
    target,
    "--output",
    `dist/${name}`,
    "cli/main.ts",
  ];
  console.error(`deno ${args.join(" ")}`);
  const { success } = await new Deno.Command(Deno.execPath(), { args }).spawn().status;
  if (!success) {
    console.error(`compile for ${target} failed (deno compile needs the internet for denort)`);
    Deno.exit(1);
  }
}
