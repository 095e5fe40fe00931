/** The Step Functions task resources compiled definitions use: one definition each, for the compiler and the emulator that runs them. */

/** A Lambda invocation (request/response). */
export const LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke";
/** A Lambda invocation that waits until someone answers its task token (`SendTaskSuccess`/`SendTaskFailure`). */
export const LAMBDA_INVOKE_WAIT_FOR_TOKEN = "arn:aws:states:::lambda:invoke.waitForTaskToken";
/** A state that starts a state machine and waits for its execution (output parsed as JSON). */
export const START_EXECUTION_SYNC = "arn:aws:states:::states:startExecution.sync:2";
/** EventBridge PutEvents (the flow's final report). */
export const PUT_EVENTS = "arn:aws:states:::events:putEvents";
