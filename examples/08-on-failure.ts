// onFailure: f(obj, state) called whenever the task or flow enters a failed state.
import { Flow, task, type State, type RunOptions } from "flowhooks";

function reportFailure(obj: unknown, state: State) {
  console.log(`${obj} failed: ${state}`);
}

const divide = task({ onFailure: reportFailure }, function divide(a: number, b: number) {
  if (b === 0) throw new RangeError("division by zero");
  return a / b;
});

export const flow = new Flow({ name: "on-failure-demo", onFailure: reportFailure }, () => {
  divide(1, 0);
});

export async function main(options: RunOptions = {}) {
  await flow.run(options);
}
