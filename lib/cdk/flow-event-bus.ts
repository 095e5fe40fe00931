/**
 * The event bus flowhooks' task and final-report events travel on: one per stack, shared by its
 * flows. On the default bus any principal of the account allowed `events:PutEvents` could send an
 * event the alerts rule matches (a forged failure alert); this bus's resource policy denies
 * `events:PutEvents` to every principal except the roles of its flows' task functions and state
 * machines. (In one account, an explicit Deny in the resource policy overrides any identity
 * policy's Allow; an `events:source` condition on our own roles would not stop other principals.)
 *
 * Task roles are admitted by their IAM path (`rolePath`, one `ArnNotLike` pattern on
 * `aws:PrincipalArn`), not one by one: EventBridge allows a bus policy of 10,240 characters, which a
 * list of ~100 role ARNs passes. State machine roles (one per flow) are listed.
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
  /**
   * The IAM path of the task roles of this stack's flows (`/flowhooks/<bus name>/`): any role on it
   * may put events. Creating a role on it takes `iam:CreateRole`, an administrator's permission.
   */
  readonly rolePath: string;
  /** `arn:<partition>:iam::<account>:role<rolePath>*`: the roles the policy admits by path. */
  readonly pathRolesArn: string;
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
    this.rolePath = `/flowhooks/${this.eventBusName}/`;
    this.pathRolesArn = scope.formatArn({ service: "iam", region: "", resource: "role", resourceName: `${this.rolePath.slice(1)}*`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
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
            Condition: { ArnNotLike: { "aws:PrincipalArn": [this.pathRolesArn, ...this.roles.map((r) => r.roleArn)] } },
          },
        ],
      }),
    });
  }

  /** Lets `roles` put events on the bus, each listed in its policy by ARN (for roles not on `rolePath`). */
  admit(...roles: iam.IRole[]): void {
    for (const role of roles) {
      this.roles.push(role);
      this.allowPutEvents(role);
    }
  }

  /** Lets `role`, created with `path: rolePath`, put events on the bus; the policy's path pattern already admits it. */
  admitOnPath(role: iam.IRole): void {
    this.allowPutEvents(role);
  }

  private allowPutEvents(role: iam.IRole): void {
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ["events:PutEvents"], resources: [this.eventBusArn] }));
  }
}
