/**
 * A {@link CliContext} for command tests: output collected in arrays, no environment, no
 * config file, and the client the test gives (a fake, or a real one made per target).
 * @module
 */
import type { WarrenClient } from "../../net/client/client.ts";
import type { CliContext } from "./_context.ts";

/**
 * A context whose commands talk to `client` (or to one made for the managers they resolve)
 * and write into `out` and `err` (blank lines are dropped from `out`).
 */
export function testCliContext(
  client: WarrenClient | ((managers: readonly string[]) => WarrenClient),
  out: string[] = [],
  err: string[] = [],
  now = 0,
): CliContext {
  return {
    io: {
      out: (text) => void (text !== "" && out.push(text)),
      err: (text) => void err.push(text),
      readStdin: () => Promise.resolve(new Uint8Array()),
    },
    env: () => undefined,
    now: () => now,
    connect: (target) =>
      Promise.resolve(typeof client === "function" ? client(target.managers) : client),
    interrupt: () => new AbortController().signal,
    configPath: "/nonexistent/warren.json",
  };
}
