/** `flowhooks init [DIR]`: scaffolds a new CDK app with an example flow, its stack and a test. */
import type { Command } from "commander";
import { initApp, initReport } from "../../lib/cli/init";

export function register(program: Command): void {
  program
    .command("init")
    .description("Create a new CDK app (TypeScript, ESM) with an example flow, its FlowStateMachine stack and a test of its state handler")
    .argument("[dir]", "a new or empty folder for the app", ".")
    .option("--package <spec>", "the app's flowhooks dependency: a range, a tarball's path relative to here (./flowhooks-0.1.0.tgz from npm pack), or anything npm takes (default: ^<this version>)")
    .addHelpText("after", "\nExit code: 0 when the app was written, 2 when DIR is not empty.\n\nExample:\n  npx flowhooks init my-app && cd my-app && npm install && npm test")
    .action((dir: string, opts: { package?: string }) => {
      process.stdout.write(initReport(initApp({ dir, packageSpec: opts.package })));
    });
}
