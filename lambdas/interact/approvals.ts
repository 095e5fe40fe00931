/**
 * The approval store the interactivity function answers through, chosen in this one place: the
 * results bucket's `approvals/` objects (lib/aws/approval-store.ts), which the construct names in
 * `FLOWHOOKS_RESULTS_BUCKET` and grants through `FlowAlertsConstructProps.grantApprovalStore`.
 */
import { approvalsFromEnv } from "../../lib/aws/approval-store";
import type { Approvals } from "../../lib/aws/approvals";

/** The deployed store for this function's environment (refused, naming the variable, when it is not set). */
export function deployedApprovals(env: Record<string, string | undefined>): Promise<Approvals> {
  return approvalsFromEnv(env as NodeJS.ProcessEnv);
}
