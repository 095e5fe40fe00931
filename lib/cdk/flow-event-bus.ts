/**
 * The event bus flowhooks' task and final-report events travel on: one per stack, shared by its
 * flows. On the default bus any principal of the account allowed `events:PutEvents` could send an
 * event the alerts rule matches (a forged failure alert); this bus's resource policy denies
 * `events:PutEvents` to every principal except the roles of its flows' task functions and state
 * machines. (In one account, an explicit Deny in the resource policy overrides any identity
 * policy's Allow; an `events:source` condition on our own roles would not stop other principals.)
 */
import { createHash } from "node:crypto";
import { ArnFormat, Lazy, Stack, Token } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";

const ID = "FlowhooksEventBus";

export class FlowEventBus extends Construct {
  /** The bus, named so its ARN needs no reference to itself (its own policy names it). */
  readonly eventBus: events.EventBus;
  /** The bus's name (a literal string, also used in state machine definitions). */
  readonly eventBusName: string;
  /** The bus's ARN. */
  readonly eventBusArn: string;
  private readonly roles: iam.IRole[] = [];

  /** The stack's bus, created on first use. */
  static of(scope: Construct): FlowEventBus {
    const stack = Stack.of(scope);
    return (stack.node.tryFindChild(ID) as FlowEventBus | undefined) ?? new FlowEventBus(stack, ID);
  }

  private constructor(scope: Stack, id: string) {
    super(scope, id);
    const stackName = Token.isUnresolved(scope.stackName) ? "" : scope.stackName;
    this.eventBusName = `flowhooks-${createHash("sha256").update(`${stackName}/${this.node.path}`).digest("hex").slice(0, 12)}`;
    this.eventBusArn = scope.formatArn({ service: "events", resource: "event-bus", resourceName: this.eventBusName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    this.eventBus = new events.EventBus(this, "Bus", {
      eventBusName: this.eventBusName,
      description: "flowhooks: task and final-report events of this stack's flows; only their roles may put events",
    });
    (this.eventBus.node.defaultChild as events.CfnEventBus).policy = Lazy.any({
      produce: () => ({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "OnlyFlowhooksRolesPutEvents",
            Effect: "Deny",
            Principal: "*",
            Action: "events:PutEvents",
            Resource: this.eventBusArn,
            Condition: { ArnNotEquals: { "aws:PrincipalArn": this.roles.map((r) => r.roleArn) } },
          },
        ],
      }),
    });
  }

  /** Lets `roles` (and no other principal) put events on the bus. */
  admit(...roles: iam.IRole[]): void {
    for (const role of roles) {
      this.roles.push(role);
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ["events:PutEvents"], resources: [this.eventBusArn] }));
    }
  }
}
