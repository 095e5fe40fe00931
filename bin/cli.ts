/**
 * The `flowhooks` program. Thin: commander parses, each bin/commands/*.ts registers one command
 * and calls lib/cli; this file only maps outcomes to exit codes (0 ok, 1 flow failed, 2 usage).
 */
import { Command, CommanderError } from "commander";
import { EXIT, reportError } from "../lib/cli/index";
import { PACKAGE_VERSION } from "../lib/package";
import { COMMANDS } from "./commands/index";

const program = new Command("flowhooks")
  .description("Run, draw and inspect flowhooks flows.")
  .version(PACKAGE_VERSION)
  .option("--verbose", "print stack traces with errors")
  .showSuggestionAfterError();

for (const register of COMMANDS) register(program);

// Settings are applied after registration so commands added with addCommand() get them too.
function configure(command: Command): void {
  const help = `flowhooks ${command === program ? "" : `${command.name()} `}--help`;
  command.exitOverride();
  // Commander's "error: …" plus its suggestion become one line that names where to look.
  command.configureOutput({
    outputError: (text, write) => write(`flowhooks: ${text.replace(/^error: /, "").replace(/\s*\n\s*/g, " ").trim()}; see "${help}".\n`),
  });
  for (const sub of command.commands) configure(sub);
}
configure(program);

const verbose = process.argv.includes("--verbose");
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander already printed its message (or the help); 0 for --help/--version, else a usage error.
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    process.exitCode = reportError(error, { verbose });
  }
}
