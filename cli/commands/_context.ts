/**
 * What the client commands share: where output goes, how they reach the cluster (so tests can
 * inject both), and the common flags `--manager`, `-o/--output` and `-q/--quiet`.
 * @module
 */
import { Buffer } from "node:buffer";
import { type Command, Option } from "commander";
import { credentials as grpcCredentials } from "@grpc/grpc-js";
import type { ChannelOptions } from "@grpc/grpc-js";
import { WarrenClient } from "../../net/client/client.ts";
import { UnavailableError, WarrenError } from "../../proto/errors.ts";
import { type EnvGetter, processEnv, type ResolvedTarget, resolveTarget } from "../config.ts";
import { OUTPUT_FORMATS, type OutputFormat } from "../output/format.ts";

/** Where a command writes and what it may read. */
export interface CliIo {
  /** Writes `text` and a newline to standard output (nothing for an empty string). */
  out(text: string): void;
  /** Writes `text` and a newline to standard error. */
  err(text: string): void;
  /** Reads all of standard input. */
  readStdin(): Promise<Uint8Array>;
}

/** Everything a client command needs from its surroundings. */
export interface CliContext {
  io: CliIo;
  env: EnvGetter;
  /** Current time (ms), for "3 minutes ago". */
  now(): number;
  /** Opens a client for the resolved managers. */
  connect(target: ResolvedTarget): Promise<WarrenClient>;
  /** A signal that aborts on Ctrl-C (SIGINT) or SIGTERM; for streaming commands. */
  interrupt(): AbortSignal;
  /** Config file path; default `$WARREN_CONFIG` or `~/.warren/config.json`. */
  configPath?: string;
}

/** The common flags, parsed. */
export interface ClientFlags {
  manager?: string[];
  output: OutputFormat;
  quiet?: boolean;
}

const encoder = new TextEncoder();

/** The real process: stdout/stderr, environment, clock, signals, TLS files. */
export function defaultContext(): CliContext {
  return {
    io: {
      out: (text) => {
        if (text !== "") Deno.stdout.writeSync(encoder.encode(text + "\n"));
      },
      err: (text) => void Deno.stderr.writeSync(encoder.encode(text + "\n")),
      readStdin: async () => new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer()),
    },
    env: processEnv,
    now: () => Date.now(),
    connect: connectTarget,
    interrupt: () => {
      const ctl = new AbortController();
      const stop = () => {
        ctl.abort();
        for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(sig, stop);
      };
      for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, stop);
      return ctl.signal;
    },
  };
}

/** Builds a client: mutual TLS from the config file's files when it has them, else insecure. */
export async function connectTarget(target: ResolvedTarget): Promise<WarrenClient> {
  if (!target.tls) return new WarrenClient({ managers: target.managers });
  const [ca, cert, key] = await Promise.all(
    [target.tls.caFile, target.tls.certFile, target.tls.keyFile].map(async (f) =>
      Buffer.from(await Deno.readFile(f))
    ),
  );
  const channelOptions: ChannelOptions = {};
  if (target.tls.serverName) {
    channelOptions["grpc.ssl_target_name_override"] = target.tls.serverName;
    channelOptions["grpc.default_authority"] = target.tls.serverName;
  }
  return new WarrenClient({
    managers: target.managers,
    credentials: grpcCredentials.createSsl(ca!, key!, cert!),
    channelOptions,
  });
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/**
 * Adds `--manager`, `-o/--output` and (for lists) `-q/--quiet` to a client command. `formats`
 * narrows what `-o` accepts, the first being the default (`table` and all three if not given).
 */
export function addClientFlags<C extends Command>(
  cmd: C,
  opts: { quiet?: boolean; formats?: readonly [OutputFormat, ...OutputFormat[]] | "none" } = {},
): C {
  const formats = opts.formats ?? OUTPUT_FORMATS;
  cmd.addOption(
    new Option("--manager <host:port>", "manager API address (repeatable or comma list)")
      .argParser(collect),
  );
  // "none": the command's output is another program's (exec), which no format applies to.
  if (formats !== "none") {
    cmd.addOption(
      new Option("-o, --output <format>", "output format").choices(formats).default(formats[0]),
    );
  }
  if (opts.quiet) cmd.option("-q, --quiet", "print IDs only");
  return cmd;
}

/** Resolves the managers for `flags`, runs `fn` with a client, and closes it. */
export async function withClient<T>(
  ctx: CliContext,
  flags: { manager?: string[] },
  fn: (client: WarrenClient) => Promise<T>,
): Promise<T> {
  const target = await resolveTarget({
    flag: flags.manager,
    env: ctx.env,
    configPath: ctx.configPath,
  });
  const client = await ctx.connect(target);
  try {
    return await fn(client);
  } catch (err) {
    // Managers speak mutual TLS only: without an admin certificate every call fails as if no
    // manager were there. Say what is missing instead.
    if (!target.tls && err instanceof WarrenError && err.code === "unavailable") {
      throw new UnavailableError(
        `${err.message} (this CLI has no admin certificate, and managers accept only mutual ` +
          "TLS: use the config `cluster init` or `join` wrote (~/.warren/config.json, or " +
          "WARREN_CONFIG), or one made with `warren cert create` on a manager)",
        { cause: err },
      );
    }
    throw err;
  } finally {
    client.close();
  }
}
