// "Thinking creatively": a FAIL signal carries data that a state handler reads.
import { Flow, signals, task, type State, type RunOptions } from "flowhooks";

function alertOnSpecialFailure(_task: unknown, _oldState: State, newState: State) {
  if (newState.isFailed()) {
    const data = newState.result as { flag?: boolean; value?: number } | undefined;
    if (data?.flag === true) {
      console.log("Special failure mode!  Send all the alerts!");
      console.log(`a == b == ${data.value}`);
    }
  }
  return newState;
}

const missionCriticalTask = task(
  { stateHandlers: [alertOnSpecialFailure] },
  function missionCriticalTask(a: number, b: number) {
    if (a === b) {
      const failSignal = new signals.FAIL("a equaled b!");
      failSignal.flag = true;
      failSignal.value = a;
      throw failSignal;
    }
    return 1 / (b - a);
  },
);

export const flow = new Flow({ name: "state-inspection-handler" }, () => {
  missionCriticalTask(1, 1);
});

export async function main(options: RunOptions = {}) {
  await flow.run(options);
  // Special failure mode!  Send all the alerts!
  // a == b == 1
}
