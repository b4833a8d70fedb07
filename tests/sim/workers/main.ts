/**
 * A process of simulated workers (see harness.ts): `deno run -A tests/sim/workers/main.ts
 * '<json options>'`. It joins and starts the nodes, prints one line `ready {"nodeIds":[...]}`,
 * then answers lines on stdin: `stats` prints `stats {"running":N,"tasks":N,"connected":N,
 * "rssMb":N}`; `stop` (or the end of stdin) kills the nodes and exits 0. Logs go to stderr.
 * @module
 */
import { configureLogging } from "../../../proto/log.ts";
import { SimWorkers, type SimWorkersOptions } from "./harness.ts";

/** What the parent passes (the harness options, JSON). */
export type SimWorkersProcessOptions = SimWorkersOptions & { logLevel?: "info" | "warn" | "error" };

if (import.meta.main) {
  const o = JSON.parse(Deno.args[0] ?? "{}") as SimWorkersProcessOptions;
  configureLogging({ level: o.logLevel ?? "error" });
  const workers = await SimWorkers.start(o);
  console.log(`ready ${JSON.stringify({ nodeIds: workers.nodeIds })}`);
  const stats = () => {
    let running = 0;
    let tasks = 0;
    for (const n of workers.nodes) {
      for (const t of n.worker?.tasks() ?? []) {
        tasks++;
        if (t.state === "running") running++;
      }
    }
    return {
      running,
      tasks,
      connected: workers.connected,
      rssMb: Deno.memoryUsage().rss / 2 ** 20,
    };
  };
  let buf = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let i;
    let stop = false;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line === "stats") console.log(`stats ${JSON.stringify(stats())}`);
      else if (line === "stop") stop = true;
    }
    if (stop) break;
  }
  // The process ends anyway: do not let a slow close (a thousand nodes) hold the exit.
  await Promise.race([workers.close(), new Promise((r) => setTimeout(r, 5_000))]);
  Deno.exit(0);
}
