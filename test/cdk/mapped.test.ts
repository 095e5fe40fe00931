import { describe, expect, it } from "vitest";
import { App, Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { Flow, task } from "../../lib/index";
import { FlowDefinitionError } from "../../lib/core/errors";
import { flowStack } from "../helpers/cdk";
import type { FlowStateMachineProps } from "../../lib/cdk/index";

/** files → download.map(files) → total. */
function mappedFlow(): Flow {
  const files = task({ name: "files" }, () => ["a", "b"]);
  const download = task({ name: "download", mapConcurrency: 10 }, (file: string) => file.length);
  const total = task({ name: "total" }, (sizes: number[]) => sizes.reduce((a, b) => a + b, 0));
  return new Flow({ name: "downloads" }, () => {
    total(download.map(files()));
  });
}

/** The states of every Map in a definition, by name, wherever they sit. */
function mapStates(definition: unknown): Record<string, any> {
  const found: Record<string, any> = {};
  const visit = (value: unknown) => {
    if (typeof value !== "object" || value === null) return;
    for (const [key, child] of Object.entries(value)) {
      if ((child as { Type?: unknown } | null)?.Type === "Map") found[key] = child;
      visit(child);
    }
  };
  visit(definition);
  return found;
}

const distributedPolicy = (t: Template) => {
  const policies = t.findResources("AWS::IAM::Policy", { Properties: { PolicyName: Match.stringLikeRegexp("DistributedMapPolicy") } });
  return Object.values(policies);
};

describe("FlowStateMachine: mapped tasks", () => {
  it("by default (auto) deploys both Maps, the Distributed Map reading and writing the flow's results bucket", () => {
    const { definition, template } = flowStack(mappedFlow());
    const maps = mapStates(definition());
    expect(Object.keys(maps).sort()).toEqual(["download.Map", "download.MapDistributed"]);
    const bucketRef = template().toJSON().Resources;
    const bucket = Object.keys(bucketRef).find((id) => bucketRef[id].Type === "AWS::S3::Bucket")!;
    expect(maps["download.MapDistributed"].ItemReader.Parameters.Bucket).toBe(`REF-${bucket}`);
    expect(maps["download.MapDistributed"].ResultWriter.Parameters.Bucket).toBe(`REF-${bucket}`);
    expect(maps["download.Map"].MaxConcurrency).toBe(10);
  });

  it('`tasks.download.mapMode: "inline"` deploys the inline Map alone, and the role gets no Distributed Map permissions', () => {
    const { definition, template } = flowStack(mappedFlow(), { tasks: { download: { mapMode: "inline" } } });
    expect(Object.keys(mapStates(definition()))).toEqual(["download.Map"]);
    expect(distributedPolicy(template())).toHaveLength(0);
  });

  it('`mapMode: "distributed"` reaches the prepare step, which then always picks the Distributed Map', () => {
    const { definition } = flowStack(mappedFlow(), { tasks: { download: { mapMode: "distributed" } } });
    const prepare = JSON.stringify(definition()).match(/"Payload":\{"task":"download","mode":"prepare","mapMode":"(\w+)"/);
    expect(prepare?.[1]).toBe("distributed");
  });

  it("a Distributed Map's role may start, follow, stop and redrive its own executions, read the items and write results under the map prefix, in a policy apart from the default one", () => {
    const { template } = flowStack(mappedFlow());
    const t = template();
    const [policy] = distributedPolicy(t);
    expect(policy).toBeDefined();
    const statements = (policy as any).Properties.PolicyDocument.Statement as any[];
    const byAction = (action: string) => statements.filter((s) => [s.Action].flat().includes(action));
    const machineId = Object.keys(t.findResources("AWS::StepFunctions::StateMachine"))[0]!;
    expect(byAction("states:StartExecution")[0].Resource).toEqual({ Ref: machineId });
    const described = JSON.stringify(byAction("states:DescribeExecution")[0].Resource);
    // Its own executions and its map runs' child executions (`<name>/<map run>:<id>`), named by the state machine's Name.
    expect(described).toContain(`{"Fn::GetAtt":["${machineId}","Name"]},":*"`);
    expect(described).toContain(`{"Fn::GetAtt":["${machineId}","Name"]},"/*"`);
    expect([byAction("states:StopExecution")[0].Action].flat()).toContain("states:DescribeExecution");
    expect(byAction("states:RedriveExecution")).toHaveLength(1);
    const s3Resources = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith("s3:"))).map((s) => JSON.stringify(s.Resource));
    expect(s3Resources.some((r) => r.includes("/flowhooks-maps/*"))).toBe(true);
    expect(byAction("s3:AbortMultipartUpload")).toHaveLength(1);
    expect(byAction("s3:ListMultipartUploadParts")).toHaveLength(1);
    // Attached to the state machine's role, which the state machine does not wait for: no circular dependency.
    const machine = t.findResources("AWS::StepFunctions::StateMachine")[machineId]!;
    const policyId = Object.keys(t.findResources("AWS::IAM::Policy", { Properties: { PolicyName: Match.stringLikeRegexp("DistributedMapPolicy") } }))[0]!;
    expect(machine.DependsOn ?? []).not.toContain(policyId);
  });

  it("the children invoke the task's function with the permission the state machine already has", () => {
    const { template } = flowStack(mappedFlow());
    template().hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: "lambda:InvokeFunction", Resource: Match.arrayWith([Match.objectLike({ "Fn::Join": Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp("download$")])]) })]) })]) },
    });
  });

  it("a flow split into child state machines gives the part that holds the Distributed Map its bucket and its permissions", () => {
    // Enough tasks before the map that its level lands in a part of its own.
    const flow = new Flow({ name: "split-downloads" }, () => {
      let previous: ReturnType<ReturnType<typeof task<[number?], number>>> | undefined;
      for (let i = 0; i < 12; i++) {
        const t = task({ name: `step${i}` }, (x?: number) => (x ?? 0) + 1);
        previous = previous === undefined ? t() : t(previous);
      }
      const files = task({ name: "files" }, (_n: number) => ["a", "b"]);
      const download = task({ name: "download" }, (file: string) => file.length);
      download.map(files(previous!));
    });
    const app = new App();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const { template, construct } = flowStack(flow, { maxDefinitionChars: 3000 }, app);
    // cdk-nag finds nothing unacknowledged on the part's Distributed Map policy either.
    expect(() => app.synth()).not.toThrow();
    expect(construct.partStateMachines.length).toBeGreaterThan(1);
    const t = template();
    const machines = t.findResources("AWS::StepFunctions::StateMachine");
    const withBucket = Object.entries(machines).filter(([, m]) => (m as any).Properties.DefinitionSubstitutions.ResultsBucket !== undefined);
    expect(withBucket).toHaveLength(1);
    const [partId] = withBucket[0]!;
    const policies = Object.values(t.findResources("AWS::IAM::Policy", { Properties: { PolicyName: Match.stringLikeRegexp("DistributedMapPolicy") } }));
    expect(policies).toHaveLength(1);
    expect(JSON.stringify(policies[0])).toContain(`"Ref":"${partId}"`);
  });

  it("passes AwsSolutions checks with a Distributed Map, each deliberate finding acknowledged", () => {
    const app = new App();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    flowStack(mappedFlow(), { alerts: { topic: true } }, app);
    expect(() => app.synth()).not.toThrow();
  });

  const refused: [string, Partial<FlowStateMachineProps>, RegExp][] = [
    ["mapMode on a task that is not mapped", { tasks: { total: { mapMode: "inline" } } }, /`tasks\.total\.mapMode` is set, but task `total` is not mapped .*set it on a mapped task: download/],
    ["an unknown mapMode", { tasks: { download: { mapMode: "parallel" as "inline" } } }, /`tasks\.download\.mapMode` is "parallel"; use "auto", "inline" or "distributed"/],
    ["mapMode in taskDefaults", { taskDefaults: { mapMode: "inline" } as object }, /`taskDefaults\.mapMode` is not an option; set it per mapped task/],
  ];
  for (const [what, props, message] of refused) {
    it(`refuses ${what}, naming the fix`, () => {
      expect(() => flowStack(mappedFlow(), props)).toThrow(FlowDefinitionError);
      expect(() => flowStack(mappedFlow(), props)).toThrow(message);
    });
  }
});
