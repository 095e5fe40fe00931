/** Shared by the emulator tests: one synthesized, bundled target per fixture, a Slack webhook on 127.0.0.1. */
import { createServer } from "node:http";
import { join } from "node:path";
import { prepareEmulation, type EmulationResult, type EmulationTarget, type PrepareOptions } from "../../lib/emulate/index";

const targets = new Map<string, Promise<EmulationTarget>>();

/** The fixture's flow, synthesized and bundled once per test file. */
export function fixtureTarget(name: string, options: Partial<PrepareOptions> = {}): Promise<EmulationTarget> {
  const key = `${name}:${JSON.stringify(options.stackProps ?? {})}`;
  let target = targets.get(key);
  if (!target) {
    target = prepareEmulation({ entry: join(import.meta.dirname, "fixtures", `${name}.ts`), ...options });
    targets.set(key, target);
  }
  return target;
}

/** `task NAME` / `flow NAME` → its transitions as `Old -> New`. */
export function transitionsOf(result: EmulationResult, kind: "task" | "flow", name: string): string[] {
  return result.transitions.filter((t) => t.kind === kind && t.name === name).map((t) => `${t.oldState.name} -> ${t.newState.name}`);
}

/** An Incoming Webhook stand-in on 127.0.0.1 that keeps every posted body. */
export async function slackWebhook(): Promise<{ url: string; posts: { text?: string; blocks?: unknown[] }[]; close: () => Promise<void> }> {
  const posts: { text?: string; blocks?: unknown[] }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (c: string) => (body += c));
    req.on("end", () => {
      posts.push(JSON.parse(body));
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/services/T000/B000/secret`, posts, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
