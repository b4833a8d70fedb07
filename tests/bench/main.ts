/**
 * `deno task bench <suite> [--quick]`: runs one benchmark suite (or `all`) and prints its
 * metrics as JSON lines on stdout; progress goes to stderr. Without a suite it lists them.
 * Register a suite with one line in SUITES.
 * @module
 */
import type { BenchSuite, Metric } from "./_suite.ts";

const SUITES: Record<string, () => Promise<{ suite: BenchSuite }>> = {
  raft: () => import("./raft.ts"),
  scheduler: () => import("./scheduler.ts"),
  worker: () => import("./worker.ts"),
  api: () => import("./api.ts"),
  net: () => import("./net.ts"),
};

async function runSuite(name: string, quick: boolean): Promise<boolean> {
  const { suite } = await SUITES[name]();
  const signal = AbortSignal.timeout(suite.timeoutMs);
  const started = performance.now();
  try {
    await suite.run({
      emit: (metric, value, unit) => {
        const m: Metric = { suite: name, metric, value, unit };
        console.log(JSON.stringify(m));
      },
      log: (message) => console.error(`[${name}] ${message}`),
      signal,
      quick,
    });
    console.error(`[${name}] done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return true;
  } catch (err) {
    console.error(`[${name}] failed: ${err instanceof Error ? err.stack : err}`);
    return false;
  }
}

const args = Deno.args.filter((a) => !a.startsWith("--"));
const quick = Deno.args.includes("--quick");
if (args.length === 0) {
  console.error("usage: deno task bench <suite|all> [--quick]\nsuites:");
  for (const [name, load] of Object.entries(SUITES)) {
    console.error(`  ${name.padEnd(12)} ${(await load()).suite.description}`);
  }
  Deno.exit(2);
}
const names = args[0] === "all" ? Object.keys(SUITES) : args;
const unknown = names.filter((n) => !(n in SUITES));
if (unknown.length > 0) {
  console.error(
    `unknown suite(s): ${unknown.join(", ")}; known: ${Object.keys(SUITES).join(", ")}`,
  );
  Deno.exit(2);
}
let ok = true;
for (const n of names) ok = (await runSuite(n, quick)) && ok;
Deno.exit(ok ? 0 : 1);
