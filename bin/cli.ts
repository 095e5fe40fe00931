/**
 * The `flowhooks` program. Thin: commander parses, each bin/commands/*.ts registers one command
 * and calls lib/cli; this file only maps outcomes to exit codes (0 ok, 1 flow failed, 2 usage).
 */
import { readFileSync, readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Command, CommanderError } from "commander";
import { EXIT, reportError } from "../lib/cli/index";

const here = dirname(fileURLToPath(import.meta.url));
const { version } = JSON.parse(readFileSync(join(here, "..", "package.json"), "utf8")) as { version: string };

const program = new Command("flowhooks")
  .description("Run, draw and inspect flowhooks flows.")
  .version(version)
  .option("--verbose", "print stack traces with errors")
  .showSuggestionAfterError();

// Every file in bin/commands registers one command, so commands added there need no edit here.
const commandsDir = join(here, "commands");
const commandFiles = readdirSync(commandsDir)
  .filter((f) => /\.[cm]?[jt]s$/.test(f) && !/\.d\.[cm]?ts$/.test(f) && !/\.test\./.test(f))
  .sort();
for (const file of commandFiles) {
  try {
    const mod = (await import(pathToFileURL(join(commandsDir, file)).href)) as { register?: (p: Command) => void };
    if (typeof mod.register !== "function") throw new Error(`bin/commands/${file} does not export register(program)`);
    mod.register(program);
  } catch (error) {
    // One broken command file must not take the others down; calling that command reports why.
    const name = basename(file).replace(/\.[^.]+$/, "");
    program
      .command(name, { hidden: true })
      .allowUnknownOption()
      .argument("[args...]")
      .action(() => {
        throw new Error(`The ${name} command could not be loaded: ${error instanceof Error ? error.message : String(error)}`, {
          cause: error,
        });
      });
  }
}

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
