/**
 * The approval store the interactivity function answers through, chosen in this one place: the
 * store (and its factory) lives beside the contract in lib/aws/, and the construct gives this
 * function the store's permissions and settings through `FlowAlertsConstructProps.grantApprovalStore`.
 */
import type { Approvals } from "../../lib/aws/approvals";
import { InteractConfigError } from "./env";

/** The deployed store for this function's environment; refuses, naming the fix, while this build has none. */
export function deployedApprovals(_env: Record<string, string | undefined>): Approvals {
  throw new InteractConfigError(
    "This build of flowhooks has no approval store for the Slack interactivity function (lambdas/interact/approvals.ts); upgrade flowhooks, or answer with `flowhooks resume EXECUTION_ARN TASK`.",
  );
}
