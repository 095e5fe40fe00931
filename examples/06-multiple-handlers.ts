// "Using multiple state handlers": handlers run in the order given, each seeing the previous one's state.
import { Flow, task, type State, type RunOptions } from "flowhooks";

function onFailureAlert(t: unknown, _old: State, newState: State) {
  if (newState.isFailed()) console.log(`1. failure handler: ${t} is ${newState}`);
}

function onRetryAlert(t: unknown, _old: State, newState: State) {
  if (newState.isRetrying()) console.log(`2. retry handler: ${t} will retry`);
}

let attempts = 0;
const flaky = task(
  { maxRetries: 1, retryDelaySeconds: 1, stateHandlers: [onFailureAlert, onRetryAlert] },
  function flaky() {
    if (++attempts === 1) throw new Error("first attempt fails");
    return "ok";
  },
);

export const flow = new Flow({ name: "multiple-handlers", tasks: [flaky] });

export async function main(options: RunOptions = {}) {
  attempts = 0;
  const state = await flow.run(options);
  console.log(`flow ended ${state}`);
}
