/** Section 6: a flow through `flowhooks emulate`'s engine against the same ASL run bare in aws-local-stepfunctions. */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Pending } from "../pending";
import type { SectionOutput } from "./index";

const EMULATE_DIR = fileURLToPath(new URL("../../lib/emulate", import.meta.url));

export async function emulationSection(tasks: number): Promise<SectionOutput> {
  if (!existsSync(EMULATE_DIR)) throw new Pending("lib/emulate (the emulator behind `flowhooks emulate`) does not exist yet");
  throw new Pending(`lib/emulate exists; the ${tasks}-task comparison is not wired yet`);
}
