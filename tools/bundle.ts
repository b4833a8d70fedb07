/**
 * The one way Warren is bundled: `deno bundle`, minified and split into chunks, for Deno. The
 * `warren` binary is compiled from such a bundle of cli/main.ts (tools/compile.ts), and the
 * benchmarks run their processes from bundles built the same way (tests/bench/), so what they
 * measure is what a node runs.
 *
 * `deno run -A tools/bundle.ts ENTRY OUTDIR` (`deno task bundle` bundles cli/main.ts into
 * dist/warren/) empties OUTDIR and writes the bundle there.
 * @module
 */

/** Bundles `entry` into `outDir` (emptied first); throws with deno's message on failure. */
export async function bundle(entry: string, outDir: string): Promise<void> {
  await Deno.remove(outDir, { recursive: true }).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--minify",
      "--code-splitting",
      "--outdir",
      outDir,
      entry,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`bundling ${entry} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

if (import.meta.main) {
  const [entry, outDir] = Deno.args;
  if (!entry || !outDir) {
    console.error("usage: deno run -A tools/bundle.ts ENTRY OUTDIR");
    Deno.exit(2);
  }
  try {
    await bundle(entry, outDir);
  } catch (err) {
    console.error((err as Error).message);
    Deno.exit(1);
  }
}
