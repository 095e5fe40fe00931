/** Every CLI command: each module registers one. A new command is one more line here. */
import type { Command } from "commander";
import { register as emulate } from "./emulate";
import { register as graph } from "./graph";
import { register as history } from "./history";
import { register as init } from "./init";
import { register as resume } from "./resume";
import { register as run } from "./run";

export const COMMANDS: readonly ((program: Command) => void)[] = [emulate, graph, history, init, resume, run];
