/**
 * `warren help [command...]`: the help of a command at any depth, as its `--help` shows it.
 * Commander's own help command takes one word, so `warren help service create` showed the
 * help of `service`.
 * @module
 */
import { Command, CommanderError } from "commander";

/**
 * Adds `help [command...]` to `program`; call it after the command groups are added, so it is
 * listed last as commander lists its own. It walks the words down the command tree (names or
 * aliases); a word that is no subcommand is a usage error naming the path walked so far.
 */
export function addNestedHelpCommand(program: Command): Command {
  const help = new Command("help")
    .description("display help for command")
    .argument("[command...]", "the command, e.g. service create")
    .helpOption(false)
    .exitOverride()
    .action((words: string[]) => {
      let cmd = program;
      for (const [i, word] of words.entries()) {
        const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
        if (!sub) {
          const path = [program.name(), ...words.slice(0, i)].join(" ");
          help.error(`error: unknown command '${word}' (under '${path}')`, {
            exitCode: 2,
            code: "commander.unknownCommand",
          });
        }
        cmd = sub!;
      }
      cmd.outputHelp();
      // As --help ends: commander's exit for help (exit code 0), which `main` turns into 0.
      throw new CommanderError(0, "commander.help", "(outputHelp)");
    });
  program.addCommand(help);
  return program;
}
