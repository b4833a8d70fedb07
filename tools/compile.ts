/**
 * `deno task compile`: one self-contained `warren` binary per platform into dist/, compiled from
 * the minified, chunked bundle `deno task bundle` writes (dist/warren/main.js), not from the
 * sources: a daemon keeps every module it loaded for its whole life, and an idle manager run from
 * the bundle takes ~84-88 MB against ~100-102 MB from the sources (tests/bench/README.md).
 * `deno task bundle:smoke` runs a manager and the CLI from that bundle. Needs the internet (deno
 * compile downloads the `denort` runtime for each target); offline, `deno run -A --unstable-kv
 * dist/warren/main.js` runs the same code.
 * @module
 */
const TARGETS = [
  ["x86_64-unknown-linux-gnu", "warren-linux-amd64"],
  ["aarch64-unknown-linux-gnu", "warren-linux-arm64"],
  ["x86_64-apple-darwin", "warren-darwin-amd64"],
  ["aarch64-apple-darwin", "warren-darwin-arm64"],
] as const;

const only = Deno.args[0];
const bundled = await new Deno.Command(Deno.execPath(), { args: ["task", "bundle"] }).spawn()
  .status;
if (!bundled.success) {
  console.error("deno task bundle failed");
  Deno.exit(1);
}
for (const [target, name] of TARGETS) {
  if (only && only !== target && only !== name) continue;
  // Edge nodes have little memory: see V8_FLAGS in tests/integration/_cluster_procs.ts.
  const args = [
    "compile",
    "-A",
    "--unstable-kv",
    "--v8-flags=--max-semi-space-size=2,--heap-growing-percent=20",
    "--target",
    target,
    "--output",
    `dist/${name}`,
    "dist/warren/main.js",
  ];
  console.error(`deno ${args.join(" ")}`);
  const { success } = await new Deno.Command(Deno.execPath(), { args }).spawn().status;
  if (!success) {
    console.error(`compile for ${target} failed (deno compile needs the internet for denort)`);
    Deno.exit(1);
  }
}
