import assert from "node:assert/strict";
import { Command } from "commander";
import { Manager } from "../../manager/manager.ts";
import { WarrenClient } from "../../net/client/client.ts";
import { NotFoundError } from "../../proto/errors.ts";
import { configureLogging } from "../../proto/log.ts";
import type { CliContext } from "./_context.ts";
import { serviceCommand } from "./service.ts";

configureLogging({ level: "error" });

/** Runs `warren service ARGS` in process against `manager`. */
async function service(manager: string, args: string[]): Promise<void> {
  const ctx: CliContext = {
    io: { out: () => {}, err: () => {}, readStdin: () => Promise.resolve(new Uint8Array()) },
    env: () => undefined,
    now: () => Date.now(),
    connect: (target) => Promise.resolve(new WarrenClient({ managers: target.managers })),
    interrupt: () => new AbortController().signal,
    configPath: "/nonexistent/warren-config.json",
  };
  const program = new Command("warren").exitOverride().addCommand(serviceCommand(ctx));
  await program.parseAsync(["service", ...args, "--manager", manager], { from: "user" });
}

Deno.test("service logs: a name that is neither a service nor a task says so", async () => {
  const dir = await Deno.makeTempDir({ prefix: "warren-logs-" });
  const mgr = await Manager.start({
    dataDir: dir,
    apiAddr: "127.0.0.1:0",
    raftAddr: "127.0.0.1:0",
    httpAddr: "127.0.0.1:0",
    advertiseAddr: "127.0.0.1",
    init: { clusterName: "test" },
    insecure: true,
    tickMs: 10,
  });
  try {
    await assert.rejects(
      () => service(mgr.apiAddress, ["logs", "nosuchsvc"]),
      (e: unknown) =>
        e instanceof NotFoundError && e.message === 'service or task "nosuchsvc" not found',
    );
  } finally {
    await mgr.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
