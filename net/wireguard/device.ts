/**
 * The node's WireGuard network device: kernel WireGuard when `ip link add type wireguard` works,
 * otherwise `wireguard-go` in foreground mode, supervised as a child process (its control socket
 * is `/var/run/wireguard/<ifname>.sock`, on the machine's shared filesystem). Closing removes the
 * interface (its routes go with it), stops wireguard-go and removes its socket.
 * @module
 */
import { FailedPreconditionError, UnavailableError } from "../../proto/errors.ts";
import { logger } from "../../proto/log.ts";
import type { Runner } from "./_exec.ts";

/** Where wireguard-go puts its control sockets. */
export const WIREGUARD_SOCKET_DIR = "/var/run/wireguard";

/** kernel, userspace (wireguard-go) or auto (kernel if the module is there). */
export type DeviceMode = "auto" | "kernel" | "userspace";

/** Options of {@link openDevice}. */
export interface DeviceOptions {
  name: string;
  runner: Runner;
  mode?: DeviceMode;
  /** Called once if wireguard-go exits while the device is open (not on close()). */
  onExit?: (status: Deno.CommandStatus, stderr: string) => void;
  /** How long wireguard-go may take to create the interface and socket. Default 5 s. */
  readyTimeoutMs?: number;
}

/** An open device. */
export interface Device {
  readonly name: string;
  readonly kind: "kernel" | "userspace";
  /** wireguard-go's pid (userspace only). */
  readonly pid?: number;
  /** Removes the interface and stops wireguard-go; idempotent. */
  close(): Promise<void>;
}

const log = logger("wireguard");

/** The control socket path of a userspace interface. */
export function socketPath(name: string): string {
  return `${WIREGUARD_SOCKET_DIR}/${name}.sock`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether something answers on the unix socket (a live wireguard-go, possibly elsewhere). */
async function socketLive(path: string): Promise<boolean> {
  try {
    const c = await Deno.connect({ transport: "unix", path });
    c.close();
    return true;
  } catch {
    return false;
  }
}

async function linkExists(runner: Runner, name: string): Promise<boolean> {
  return (await runner.run(["ip", "link", "show", "dev", name])).code === 0;
}

async function waitFor(cond: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

/**
 * Removes what a crashed earlier run of this node left: the interface in this namespace (its
 * wireguard-go then exits) and a dead control socket. A *live* socket with no interface here
 * belongs to another namespace or process: that name is taken, which is refused.
 */
async function clearStale(runner: Runner, name: string): Promise<void> {
  const sock = socketPath(name);
  if (await linkExists(runner, name)) {
    log.warn("removing a stale overlay interface", { name });
    await runner.must(["ip", "link", "del", "dev", name]);
    await waitFor(async () => !(await socketLive(sock)), 3_000);
  }
  if (await exists(sock)) {
    if (await socketLive(sock)) {
      throw new FailedPreconditionError(
        `WireGuard interface name ${name} is in use by another process (${sock} answers): ` +
          "another node with the same ID runs on this machine",
      );
    }
    await Deno.remove(sock).catch(() => {});
  }
}

/** Creates the interface; it is down, without address, key or peers. */
export async function openDevice(o: DeviceOptions): Promise<Device> {
  const { runner, name } = o;
  const mode = o.mode ?? "auto";
  await clearStale(runner, name);
  if (mode !== "userspace") {
    const r = await runner.run(["ip", "link", "add", "dev", name, "type", "wireguard"]);
    if (r.code === 0) return kernelDevice(runner, name);
    if (mode === "kernel") {
      throw new FailedPreconditionError(
        `kernel WireGuard is not available (ip link add type wireguard: ${r.stderr.trim()})`,
      );
    }
    log.debug("kernel WireGuard unavailable; using wireguard-go", { stderr: r.stderr.trim() });
  }
  return await userspaceDevice(o);
}

function kernelDevice(runner: Runner, name: string): Device {
  let closed: Promise<void> | undefined;
  return {
    name,
    kind: "kernel",
    close: () =>
      closed ??= (async () => {
        if (await linkExists(runner, name)) await runner.must(["ip", "link", "del", "dev", name]);
      })(),
  };
}

async function userspaceDevice(o: DeviceOptions): Promise<Device> {
  const { runner, name } = o;
  const [program, ...args] = runner.argv(["wireguard-go", "-f", name]);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program!, {
      args,
      env: { WG_PROCESS_FOREGROUND: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw new UnavailableError("cannot start wireguard-go: is it installed?", { cause: err });
  }
  // Keep the last lines of its stderr for error messages; draining also keeps the pipe from
  // filling up and blocking wireguard-go.
  let stderr = "";
  const drained = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) stderr = (stderr + dec.decode(chunk)).slice(-4096);
  })().catch(() => {});
  let closing = false;
  let exited = false;
  let opened = false;
  const status = child.status.then(async (s) => {
    exited = true;
    await drained;
    if (opened && !closing) {
      log.error("wireguard-go exited", { name, code: s.code, signal: s.signal, stderr });
      o.onExit?.(s, stderr);
    }
    return s;
  });
  const sock = socketPath(name);
  const ready = await waitFor(
    async () => exited || (await exists(sock) && await linkExists(runner, name)),
    o.readyTimeoutMs ?? 5_000,
  );
  let closed: Promise<void> | undefined;
  const device: Device = {
    name,
    kind: "userspace",
    pid: child.pid,
    close: () =>
      closed ??= (async () => {
        closing = true;
        if (!exited) {
          // SIGTERM: wireguard-go closes the TUN device (the interface and its routes go away)
          // and removes its socket.
          try {
            child.kill("SIGTERM");
          } catch { /* exited meanwhile */ }
          const timer = setTimeout(() => {
            try {
              child.kill("SIGKILL");
            } catch { /* exited */ }
          }, 3_000);
          await status;
          clearTimeout(timer);
        }
        await status;
        if (await linkExists(runner, name)) {
          await runner.run(["ip", "link", "del", "dev", name]);
        }
        await Deno.remove(sock).catch(() => {});
      })(),
  };
  if (!ready || exited) {
    await device.close();
    throw new UnavailableError(
      `wireguard-go did not bring up ${name}: ${stderr.trim() || "timed out"}`,
    );
  }
  opened = true;
  return device;
}
