/** Section 4: how long `FlowStateMachine` takes to synthesize flows of growing size, and what it makes. */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Pending } from "../pending";
import type { SectionOutput } from "./index";

const CDK_INDEX = fileURLToPath(new URL("../../lib/cdk/index.ts", import.meta.url));

export async function synthSection(sizes: number[]): Promise<SectionOutput> {
  if (!existsSync(CDK_INDEX)) throw new Pending("lib/cdk/index.ts (FlowStateMachine) does not exist yet");
  const cdk = (await import(CDK_INDEX)) as Record<string, unknown>;
  if (typeof cdk.FlowStateMachine !== "function") throw new Pending("lib/cdk does not export FlowStateMachine yet");
  throw new Pending(`FlowStateMachine exists; sizes ${sizes.join("/")} not wired yet`);
}
