/**
 * `warren version`: prints the CLI version and the runtime it runs on.
 * @module
 */
import { Command, Option } from "commander";
import { VERSION } from "../../proto/version.ts";
import { renderObject } from "../output/format.ts";
import { type CliContext, defaultContext } from "./_context.ts";

/** `-o` choices: the one-line text, or the fields for scripts. */
const VERSION_FORMATS = ["text", "json", "yaml"] as const;

/** The `version` command. */
export function versionCommand(ctx: Pick<CliContext, "io"> = defaultContext()): Command {
  return new Command("version")
    .description("print version information")
    .exitOverride().showHelpAfterError("(add --help for usage)")
    // Choices, as every other `-o`: an unknown format is refused, not printed as text.
    .addOption(
      new Option("-o, --output <format>", "output format").choices(VERSION_FORMATS).default(
        "text",
      ),
    )
    .action((opts: { output: (typeof VERSION_FORMATS)[number] }) => {
      const info = {
        version: VERSION,
        deno: Deno.version.deno,
        os: Deno.build.os,
        arch: Deno.build.arch,
      };
      ctx.io.out(
        opts.output === "text"
          ? `warren ${info.version} (deno ${info.deno}, ${info.os}/${info.arch})`
          : renderObject(info, opts.output),
      );
    });
}
