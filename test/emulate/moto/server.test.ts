import { it, expect } from "vitest";
import { CreateStateMachineCommand, ListStateMachinesCommand, SFNClient } from "@aws-sdk/client-sfn";
import { describeMoto, motoClientConfig, useMoto } from "../../helpers/moto";

describeMoto("moto's server, started for a suite", () => {
  const moto = useMoto();

  it("answers the AWS SDK on a loopback port, and reset forgets what was made", async () => {
    const sfn = new SFNClient(motoClientConfig(moto.current));
    expect(moto.current.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await sfn.send(new CreateStateMachineCommand({
      name: "pass",
      roleArn: "arn:aws:iam::123456789012:role/sfn",
      definition: JSON.stringify({ StartAt: "P", States: { P: { Type: "Pass", End: true } } }),
    }));
    const before = await sfn.send(new ListStateMachinesCommand({}));
    expect(before.stateMachines?.map((m) => m.name)).toEqual(["pass"]);
    await moto.current.reset();
    const after = await sfn.send(new ListStateMachinesCommand({}));
    expect(after.stateMachines).toEqual([]);
  });
});
