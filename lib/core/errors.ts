/**
 * The flowhooks error family. Each class sets `name`, so users can `instanceof` it and logs say
 * what went wrong; messages name the fix.
 */
import { brand } from "./brand";

export class FlowhooksError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A flow or task is defined in a way that cannot run (duplicate names, cycles, bad options). */
export class FlowDefinitionError extends FlowhooksError {}

/** A secret that a notifier or task needs is not configured. */
export class SecretNotFoundError extends FlowhooksError {}

/**
 * A secret that is not configured at all where the code runs: locally no `FLOWHOOKS_SECRET_<NAME>`,
 * in Lambda no Secrets Manager or SSM variable for it. (A configured secret that cannot be read is
 * a plain `SecretNotFoundError`.) `slackNotifier({ whenMissing })` falls back on exactly this.
 */
export class SecretNotConfiguredError extends SecretNotFoundError {}

/** An alert could not be delivered to its channel (Slack, SNS, …). */
export class NotificationError extends FlowhooksError {}

/**
 * A send whose outcome is unknown: the request went out but no answer came (timeout, connection
 * reset). Sending again could deliver the alert twice, so it is not retried.
 */
export class AmbiguousDeliveryError extends NotificationError {}

// Errors thrown by another copy of flowhooks (a flow loaded through `require`) are still caught as these.
brand(FlowhooksError, "error");
brand(FlowDefinitionError, "error.FlowDefinitionError");
brand(SecretNotFoundError, "error.SecretNotFoundError");
brand(SecretNotConfiguredError, "error.SecretNotConfiguredError");
brand(NotificationError, "error.NotificationError");
brand(AmbiguousDeliveryError, "error.AmbiguousDeliveryError");
