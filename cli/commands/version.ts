/**
 * `warren version`: prints the CLI version and the runtime it runs on.
 * @module
 */
import { Command } from "commander";
import { VERSION } from "../../proto/version.ts";

/** The `version` command. */
export function versionCommand(): Command {
  return new Command("version")
    .description("print version information")
    .option("-o, --output <format>", "output format: text|json", "text")
    .action((opts: { output: string }) => {
      const info = {
        version: VERSION,
        deno: Deno.version.deno,
        os: Deno.build.os,
        arch: Deno.build.arch,
      };
      if (opts.output === "json") console.log(JSON.stringify(info));
      else console.log(`warren ${info.version} (deno ${info.deno}, ${info.os}/${info.arch})`);
    });
}
