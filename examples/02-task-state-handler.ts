// The same state handler, attached to a single task instead of the flow.
import { Flow, Task, type State, type RunOptions } from "flowhooks";

function myStateHandler(obj: unknown, oldState: State, newState: State) {
  const msg = `Calling my custom state handler on ${obj}:\n${oldState} to ${newState}\n`;
  console.log(msg);
  return newState;
}

const t = new Task({ stateHandlers: [myStateHandler] });
export const flow = new Flow({ name: "state-handler-demo", tasks: [t] });

export async function main(options: RunOptions = {}) {
  await flow.run(options);
}
