// The seed guide's first sample: a state handler attached to a flow.
import { Flow, Task, type State, type RunOptions } from "flowhooks";

function myStateHandler(obj: unknown, oldState: State, newState: State) {
  const msg = `Calling my custom state handler on ${obj}:\n${oldState} to ${newState}\n`;
  console.log(msg);
  return newState;
}

export const flow = new Flow({
  name: "state-handler-demo",
  tasks: [new Task()],
  stateHandlers: [myStateHandler],
});

export async function main(options: RunOptions = {}) {
  await flow.run(options);
}
