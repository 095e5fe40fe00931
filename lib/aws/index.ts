/**
 * lib/aws: the AWS adapters, the only code that imports `@aws-sdk/*` at run time. Reading order for a
 * newcomer (lib/aws imports lib/notify and lib/core, never the layers above it):
 *  1. sdk.ts: each SDK client module loaded on first use, so a Lambda that never calls AWS never pays for it.
 *  2. secrets.ts, sns.ts, event-bus.ts: `secrets.get`, SNS Publish and EventBridge PutEvents, which
 *     this file hands to lib/notify (its ports.ts) when it loads.
 *  3. events.ts, state-mapping.ts, state-names.ts: what reaches the handler Lambda; Step Functions'
 *     statuses and errors as flowhooks states; the state names the compiler and the readers share.
 *  4. history.ts: an execution's history turned into transitions (`flowhooks history`, crashed tasks).
 *  5. dedupe.ts, documents.ts, queue.ts, alarm-notice.ts: the handler's claims (each transition
 *     alerted once), versioned documents, its own SQS queue, the dead-letter alarm's notice.
 *  6. reconcile.ts: the scheduled pass that finds endings no event reported.
 *  7. results.ts, logger.ts, approvals.ts, approval-store.ts: result stores (S3, a local folder), JSON logs, the
 *     Paused-task contract and its implementation (task tokens kept SSE-KMS, each answered once).
 *  8. slack-interact.ts: the Slack Approve/Reject click (signature, window, replays, approvers), answered through 7.
 * `flowhooks` (lib/index.ts) and both Lambda entries import this file, so notifiers get these
 * adapters with no code from the user.
 */
import { provideAwsAdapters } from "../notify/ports";
import { putEvents } from "./event-bus";
import { secrets } from "./secrets";
import { publish } from "./sns";

provideAwsAdapters({ secrets, publish, putEvents });

export {
  secrets,
  createSecrets,
  loadConfiguredSecrets,
  configuredSecretNames,
  loadSecrets,
  secretArnVariable,
  type Secrets,
  type SecretsOptions,
} from "./secrets";
