/**
 * What `FlowStateMachine` leaves in the cloud assembly (construct metadata, in the stack's
 * `metadata` or its `*.metadata.json` file) so `flowhooks emulate` can find each flow in a user's
 * synthesized app and run exactly what would deploy. Plain data: the emulator reads it without CDK.
 */

/** The metadata entry's type. */
export const FLOW_STATE_MACHINE_METADATA = "flowhooks:flow-state-machine";

export interface FlowStateMachineMetadata {
  /** The format of this entry. */
  readonly version: 1;
  /** The flow's name. */
  readonly flow: string;
  /** The module that exports the flow, as an absolute path (bundled into the task functions). */
  readonly entry: string;
  /** The export holding the flow, when the construct was given one. */
  readonly exportName?: string;
  /** The state machine's logical id in the construct's stack. */
  readonly stateMachineLogicalId: string;
  /** True when the functions hold placeholder code (`stubBundling`): nothing can run. */
  readonly stubBundling: boolean;
  /** The secrets the functions read by name (`secrets` prop keys). */
  readonly secrets: readonly string[];
  /** The built-in alerts (`alerts` prop), when the handler Lambda is deployed. */
  readonly alerts?: { readonly topic: boolean; readonly slackWebhookSecret: boolean; readonly on?: readonly string[] };
  /** The FlowStateMachines of the flows its flowRun tasks run (`flowRuns` prop): flow name → construct path. @default - none */
  readonly flowRuns?: Readonly<Record<string, string>>;
  /** The `taskDefaults` prop, as plain values. */
  readonly taskDefaults: { readonly memorySize?: number; readonly timeoutSeconds?: number; readonly runtime?: string };
}
