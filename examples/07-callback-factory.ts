// "Higher-level state handler API": callbackFactory builds the retry notifier from an action and a check.
import { Flow, callbackFactory, task, type Retrying, type State, type RunOptions } from "flowhooks";
import { postToSlackWebhook } from "./slack";

async function sendPost(t: unknown, state: State) {
  const msg = `Task ${t} failed and is retrying at ${(state as Retrying).startTime.toISOString()}`;
  await postToSlackWebhook(msg);
}

const postToSlack = callbackFactory(sendPost, (s) => s.isRetrying());

let attempts = 0;
const flaky = task({ maxRetries: 1, retryDelaySeconds: 1, stateHandlers: [postToSlack] }, function flaky() {
  if (++attempts === 1) throw new Error("first attempt fails");
  return "ok";
});

export const flow = new Flow({ name: "callback-factory-demo", tasks: [flaky] });

export async function main(options: RunOptions = {}) {
  attempts = 0;
  await flow.run(options);
}
