/**
 * Amazon Q Developer card limits (issue 26 leftovers, item 3): every field of the custom notification
 * is masked, then cut to flowhooks' bound (CHATBOT_LIMITS), for any alert: long errors and names,
 * unicode, and secrets anywhere in them.
 */
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { Failed, Retrying, Running } from "../../lib/core/states";
import { forgetSecretValues, registerSecretValue } from "../../lib/core/mask";
import type { Alert } from "../../lib/notify/alert";
import { executionConsoleUrl } from "../../lib/notify/build";
import { CHATBOT_LIMITS, formatChatbotNotification } from "../../lib/notify/chatbot";

const EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:orders-flow:run-42";
const AT = new Date("2026-03-01T12:00:00.000Z");
afterEach(() => forgetSecretValues());

const secretText = fc.string({ minLength: 4, maxLength: 12, unit: fc.constantFrom(..."QXZJKW") });

describe("the Amazon Q Developer card stays within its limits (property)", () => {
  it("any alert gives a card whose every field is within CHATBOT_LIMITS and which holds no registered secret", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 6000 }),
        fc.string({ unit: "binary", maxLength: 300 }),
        fc.string({ unit: "grapheme", maxLength: 300 }),
        fc.array(secretText, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 400 }),
        fc.boolean(),
        (cause, task, flow, secrets, repeat, retrying) => {
          forgetSecretValues();
          for (const secret of secrets) registerSecretValue(secret);
          // Many short secrets grow when masked ("[redacted]" is longer): cutting before masking would overflow.
          const error = new Error(`${cause}${secrets.join(" ").repeat(repeat)}${cause}`);
          const newState = retrying ? new Retrying(`${secrets[0]} again`, { startTime: AT, runCount: 1, result: error }) : new Failed(`${secrets[0]} broke`, { result: error });
          const alert: Alert = {
            kind: "task",
            flow: `${flow}${secrets[0]}` || "f",
            task: `${task}${secrets[0]}${"t".repeat(repeat * 3)}`,
            oldState: new Running(),
            newState,
            at: AT,
            executionId: EXECUTION,
            consoleUrl: executionConsoleUrl(EXECUTION),
            attempt: 1,
            maxAttempts: 3,
          };
          const n = formatChatbotNotification(alert);
          expect(n.content.title.length).toBeLessThanOrEqual(CHATBOT_LIMITS.titleChars);
          expect(n.content.description.length).toBeLessThanOrEqual(CHATBOT_LIMITS.descriptionChars);
          for (const step of n.content.nextSteps) expect(step.length).toBeLessThanOrEqual(CHATBOT_LIMITS.nextStepChars);
          for (const keyword of n.content.keywords) expect(keyword.length).toBeLessThanOrEqual(CHATBOT_LIMITS.keywordChars);
          for (const value of Object.values(n.metadata.additionalContext)) expect(value.length).toBeLessThanOrEqual(CHATBOT_LIMITS.contextValueChars);
          expect(n.id.length).toBeLessThanOrEqual(CHATBOT_LIMITS.idChars);
          expect(n.metadata.summary.length).toBeLessThanOrEqual(99);
          const json = JSON.stringify(n);
          expect(Buffer.byteLength(json)).toBeLessThanOrEqual(CHATBOT_LIMITS.messageBytes);
          for (const secret of secrets) expect(json).not.toContain(secret);
          // Cut text says so, and never ends in half a surrogate pair.
          expect(n.content.description).not.toMatch(/[\uD800-\uDBFF]$/);
        },
      ),
      { numRuns: 120 },
    );
  });

  it("a long error is cut inside its code block, which still closes, and says how much was cut", () => {
    const cause = "x".repeat(10_000);
    const n = formatChatbotNotification({ kind: "task", flow: "orders", task: "load", oldState: new Running(), newState: new Failed("broke", { result: new Error(cause) }), at: AT, executionId: EXECUTION });
    expect(n.content.description.length).toBeLessThanOrEqual(CHATBOT_LIMITS.descriptionChars);
    expect(n.content.description).toMatch(/\*Error\*\n```\nx+… \[truncated \d+ chars\]\n```$/);
  });
});
