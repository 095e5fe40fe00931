// "Sending a simple notification": post to Slack whenever the task finishes.
import { Flow, Task, type State, type RunOptions } from "flowhooks";
import { postToSlackWebhook } from "./slack";

async function postToSlack(task: unknown, oldState: State, newState: State) {
  if (newState.isFinished()) {
    const msg = `Task ${task} finished in state ${newState}`;
    await postToSlackWebhook(msg);
  }
  return newState;
}

const t = new Task({ stateHandlers: [postToSlack] });
export const flow = new Flow({ name: "state-handler-demo", tasks: [t] });

export async function main(options: RunOptions = {}) {
  await flow.run(options);
}
