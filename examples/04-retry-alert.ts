// "Responding to state": alert when the task enters Retrying, with the next attempt's start time.
// As in the guide, this task never fails, so the notifier never posts.
import { Flow, Task, type Retrying, type State, type RunOptions } from "flowhooks";
import { postToSlackWebhook } from "./slack";

async function postToSlack(task: unknown, oldState: State, newState: State) {
  if (newState.isRetrying()) {
    const msg = `Task ${task} failed and is retrying at ${(newState as Retrying).startTime.toISOString()}`;
    await postToSlackWebhook(msg);
  }
  return newState;
}

const t = new Task({ stateHandlers: [postToSlack] });
export const flow = new Flow({ name: "state-handler-demo", tasks: [t] });

export async function main(options: RunOptions = {}) {
  await flow.run(options); // the notifier is never run
  console.log("The task never retried, so nothing was posted.");
}
