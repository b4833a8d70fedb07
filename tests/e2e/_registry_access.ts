/**
 * Makes the test registry (bound to 127.0.0.1 of the root namespace) reachable from every netns
 * host at the same `127.0.0.1:PORT`, so image references are loopback ones (pulled over plain
 * HTTP without an insecure-registry setting):
 *
 * ```
 *  host netns: 127.0.0.1:PORT ─(forwarder process)─▶ gateway:G
 *  root netns: gateway:G ─(forwarder in the test process)─▶ 127.0.0.1:PORT (docker-registry)
 * ```
 * @module
 */
import type { NetnsCluster } from "../fixtures/netns.ts";
import type { TestRegistry } from "../fixtures/registry.ts";
import { forwardTcp } from "./_tcp_forward.ts";

const SCRIPT = new URL("./_tcp_forward.ts", import.meta.url).pathname;

/** The forwarders; `await using` stops them. */
export interface RegistryAccess extends AsyncDisposable {
  /** `127.0.0.1:PORT`: the registry part of references, valid inside every host. */
  readonly host: string;
  close(): Promise<void>;
}

/** Starts the forwarders; resolves once every host's forwarder listens. */
export async function exposeRegistry(
  netns: NetnsCluster,
  registry: TestRegistry,
): Promise<RegistryAccess> {
  const port = Number(registry.host.split(":")[1]);
  const gateway = forwardTcp({
    listen: { hostname: netns.gateway, port: 0 },
    target: { hostname: "127.0.0.1", port },
  });
  const children: Deno.ChildProcess[] = [];
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      for (const c of children) {
        try {
          c.kill("SIGTERM");
        } catch { /* exited */ }
        await c.status;
      }
      await gateway.close();
    })();
  try {
    for (const h of netns.hosts) {
      const child = h.spawn([
        Deno.execPath(),
        "run",
        "--allow-net",
        "--quiet",
        SCRIPT,
        `127.0.0.1:${port}`,
        `${netns.gateway}:${gateway.addr.port}`,
      ], { stdout: "piped", stderr: "inherit" });
      children.push(child);
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while (!seen.includes("forwarding")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the registry forwarder on ${h.name} exited`);
        seen += value;
      }
      void reader.cancel().catch(() => {});
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { host: `127.0.0.1:${port}`, close, [Symbol.asyncDispose]: close };
}
