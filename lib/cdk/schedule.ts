/**
 * `FlowStateMachine`'s `schedule` prop: an EventBridge Scheduler schedule (aws-cdk-lib's
 * `aws-scheduler` L2, with its `aws-scheduler-targets` Step Functions target) that starts the state
 * machine with the schedule's parameters as the execution input, assuming a role of its own that may
 * only start this state machine. Validated at synth as Scheduler would at deploy
 * (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html): `rate(value unit)`,
 * `cron(minutes hours day-of-month month day-of-week year)` with one of the two day fields `?`, or
 * `at(yyyy-mm-ddThh:mm:ss)`; the time zone an IANA name; the parameters a JSON object the flow accepts.
 */
import { TimeZone } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as targets from "aws-cdk-lib/aws-scheduler-targets";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { FlowDefinitionError, FlowhooksError } from "../core/errors";
import type { Flow } from "../core/flow";
import { checkParameters } from "../core/runner";
import { unserializablePart } from "../core/serialize";

/** When the flow runs by itself, and with what. */
export interface FlowSchedule {
  /**
   * When: `"rate(1 hour)"`, `"cron(0 6 * * ? *)"` (six fields, as EventBridge Scheduler reads them) or
   * `"at(2027-01-01T06:00:00)"` (once).
   */
  readonly expression: string;
  /** The IANA time zone `cron(...)` and `at(...)` are read in (`"Europe/Berlin"`). @default "UTC" */
  readonly timezone?: string;
  /** The flow's parameters for each run: the execution's input, a JSON object. @default {} */
  readonly parameters?: Record<string, unknown>;
}

/** Refuses a schedule EventBridge Scheduler or the flow would refuse, naming the fix. */
export function validateSchedule(owner: string, flow: Flow, schedule: FlowSchedule): void {
  if (typeof schedule !== "object" || schedule === null) {
    throw new FlowDefinitionError(`${owner}: \`schedule\` must be { expression, timezone?, parameters? }, e.g. { expression: "rate(1 hour)" }.`);
  }
  const problem = scheduleExpressionProblem(schedule.expression);
  if (problem) throw new FlowDefinitionError(`${owner}: \`schedule.expression\` ${JSON.stringify(schedule.expression)} ${problem}`);
  if (schedule.timezone !== undefined && !isIanaTimeZone(schedule.timezone)) {
    throw new FlowDefinitionError(
      `${owner}: \`schedule.timezone\` ${JSON.stringify(schedule.timezone)} is not an IANA time zone name; use one such as "UTC", "Europe/Berlin" or "America/New_York".`,
    );
  }
  const parameters = schedule.parameters ?? {};
  if (typeof parameters !== "object" || parameters === null || Array.isArray(parameters)) {
    throw new FlowDefinitionError(`${owner}: \`schedule.parameters\` must be an object of the flow's parameters, e.g. { day: "today" }.`);
  }
  const part = unserializablePart(parameters);
  if (part !== undefined) {
    throw new FlowDefinitionError(`${owner}: \`schedule.parameters\` must be JSON (it is the execution's input), but ${part}; pass plain values.`);
  }
  try {
    checkParameters(flow, parameters);
  } catch (error) {
    if (error instanceof FlowhooksError) throw new FlowDefinitionError(`${owner}: \`schedule.parameters\` do not fit the flow: ${error.message}`);
    throw error;
  }
}

const RATE_UNITS = new Set(["minute", "minutes", "hour", "hours", "day", "days"]);
/** Each cron field's allowed values (Scheduler's table), the words it takes, and whether `?`, `L`, `W`, `#` may appear. */
const CRON_FIELDS = [
  { name: "minutes", min: 0, max: 59 },
  { name: "hours", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31, question: true, special: /^(L|L-\d{1,2}|\d{1,2}W|LW)$/ },
  { name: "month", min: 1, max: 12, words: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"] },
  { name: "day-of-week", min: 1, max: 7, question: true, words: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], special: /^([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(L|#[1-5])$|^L$/i },
  { name: "year", min: 1970, max: 2199 },
] as const;

/** Why EventBridge Scheduler would reject `expression` (the end of a sentence naming the fix), or undefined. */
export function scheduleExpressionProblem(expression: unknown): string | undefined {
  const examples = 'use "rate(5 minutes)", "cron(0 6 * * ? *)" or "at(2027-01-01T06:00:00)".';
  if (typeof expression !== "string") return `is not a schedule expression; ${examples}`;
  const form = /^(rate|cron|at)\((.*)\)$/.exec(expression.trim());
  if (!form) return `is not rate(...), cron(...) or at(...); ${examples}`;
  const [, kind, body] = form as unknown as [string, "rate" | "cron" | "at", string];
  if (kind === "rate") {
    const m = /^(\d+) ([a-z]+)$/.exec(body);
    if (!m || Number(m[1]) < 1 || !RATE_UNITS.has(m[2]!)) return 'is not rate(value unit) with a positive whole value and a unit of minutes, hours or days; e.g. "rate(15 minutes)".';
    return undefined;
  }
  if (kind === "at") {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body);
    const valid = m && !Number.isNaN(Date.parse(`${body}Z`)) && new Date(`${body}Z`).toISOString().startsWith(`${m[1]}-${m[2]}-${m[3]}T${m[4]}`);
    if (!valid) return 'is not at(yyyy-mm-ddThh:mm:ss) with a real date and time (no zone: set `timezone`); e.g. "at(2027-01-01T06:00:00)".';
    return undefined;
  }
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) {
    return `has ${fields.length} fields; EventBridge Scheduler's cron takes six (minutes hours day-of-month month day-of-week year), e.g. "cron(0 6 * * ? *)".`;
  }
  for (let i = 0; i < 6; i++) {
    const spec = CRON_FIELDS[i]!;
    if (!cronFieldValid(fields[i]!, spec)) return `has an invalid ${spec.name} field \`${fields[i]}\` (allowed: ${spec.min}-${spec.max}${"words" in spec ? `, ${spec.words[0]}-${spec.words.at(-1)}` : ""}, , - * /${"question" in spec ? " ?" : ""}).`;
  }
  if ((fields[2] === "?") === (fields[4] === "?")) {
    return 'must have `?` in exactly one of day-of-month and day-of-week (cron cannot set both); e.g. "cron(0 6 * * ? *)" or "cron(0 6 ? * MON *)".';
  }
  return undefined;
}

function cronFieldValid(field: string, spec: (typeof CRON_FIELDS)[number]): boolean {
  if (field === "?") return "question" in spec;
  if ("special" in spec && spec.special.test(field)) return true;
  const value = (v: string) => {
    const word = "words" in spec ? (spec.words as readonly string[]).indexOf(v.toUpperCase()) : -1;
    const n = word >= 0 ? word + spec.min : /^\d+$/.test(v) ? Number(v) : NaN;
    return n >= spec.min && n <= spec.max;
  };
  return field.split(",").every((part) => {
    const [range, step, extra] = part.split("/");
    if (extra !== undefined || (step !== undefined && !/^\d+$/.test(step))) return false;
    if (range === "*") return true;
    const ends = range!.split("-");
    return ends.length <= 2 && ends.every((e) => e !== "" && value(e));
  });
}

/** True for a time zone name the runtime's IANA database knows (Scheduler takes the same names). */
function isIanaTimeZone(name: unknown): boolean {
  if (typeof name !== "string" || name === "") return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export interface FlowScheduleResourcesProps {
  readonly stateMachine: sfn.IStateMachine;
  readonly flow: Flow;
  readonly schedule: FlowSchedule;
}

/** The schedule and the role it assumes (`states:StartExecution` on this state machine only). */
export class FlowScheduleResources extends Construct {
  readonly schedule: scheduler.Schedule;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: FlowScheduleResourcesProps) {
    super(scope, id);
    const { schedule, flow } = props;
    // A role of its own: the target's default role is shared by every schedule of the stack with this target.
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com"),
      description: `Lets EventBridge Scheduler start the state machine of flowhooks flow ${flow.name}`,
    });
    this.schedule = new scheduler.Schedule(this, "Schedule", {
      schedule: scheduler.ScheduleExpression.expression(schedule.expression.trim(), schedule.timezone ? TimeZone.of(schedule.timezone) : undefined),
      // The target grants the role states:StartExecution on this state machine, and nothing else.
      target: new targets.StepFunctionsStartExecution(props.stateMachine, {
        role: this.role,
        input: scheduler.ScheduleTargetInput.fromText(JSON.stringify(schedule.parameters ?? {})),
      }),
      description: `Starts flowhooks flow ${flow.name} (${schedule.expression.trim()})`,
    });
  }
}
