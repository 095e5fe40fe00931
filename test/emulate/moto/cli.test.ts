/** `flowhooks emulate --engine moto`: the same output and exit codes as the default engine; moto's absence and limits exit 2 naming the fix. */
import { describe, expect, it } from "vitest";
import { runCli } from "../../cli/run-cli";
import { EXIT } from "../../../lib/cli/errors";
import { emulateCommand, engineOption } from "../../../lib/emulate/command";
import { motoDefinition } from "../../../lib/emulate/moto/engine";
import { emulate } from "../../../lib/emulate/index";
import { freePort, startMoto } from "../../../lib/emulate/moto/server";
import { describeMoto } from "../../helpers/moto";
import { assemblyOf, fixtureTarget } from "../helpers";

describe("--engine and --moto-endpoint", () => {
  it("reject an unknown engine, --moto-endpoint with the default engine, and a running server without its Lambda port, each naming the fix", () => {
    expect(() => engineOption({ engine: "stepfunctions-local" })).toThrow("use --engine default (aws-local-stepfunctions) or --engine moto");
    expect(() => engineOption({ engine: "default", motoEndpoint: "http://127.0.0.1:5000" })).toThrow("--moto-endpoint is for the moto engine");
    expect(() => engineOption({ motoEndpoint: "http://127.0.0.1:5000" }, {})).toThrow("export MOTO_PORT=5005");
    expect(() => engineOption({ motoEndpoint: "localhost:5000" }, { MOTO_PORT: "5005" })).toThrow("is not a URL");
    expect(engineOption({})).toBeUndefined();
    expect(engineOption({ motoEndpoint: "http://127.0.0.1:5000" }, { MOTO_PORT: "5005" })?.name).toBe("moto");
  });

  it("is a usage error (exit 2) naming pip install \"moto[server]\" where moto is not installed", async () => {
    const assembly = assemblyOf(await fixtureTarget("retries-exhausted"));
    const path = process.env.PATH;
    // No moto_server and no python3 on this PATH.
    process.env.PATH = "/nonexistent";
    try {
      const run = emulateCommand({ file: "test/emulate/fixtures/retries-exhausted.ts", assembly, engine: "moto", fastRetries: true, json: true, out: { write: () => true } });
      await expect(run).rejects.toThrow('install it with: pip install "moto[server]"');
      await expect(run).rejects.toMatchObject({ exitCode: EXIT.usage });
    } finally {
      process.env.PATH = path;
    }
  }, 120_000);

  it("reads a path ending in an index and one field as Step Functions selects it, on moto's copy of the definition only", () => {
    const definition = JSON.stringify({ StartAt: "j", States: { j: { Type: "Pass", Parameters: { "left.$": "$.L1[0].left", "flag.$": "$.L1[0].left.failed", "all.$": "$.L1" }, End: true } } });
    const adapted = JSON.parse(motoDefinition(definition, false));
    expect(adapted.States.j.Parameters).toEqual({ "left.$": "States.ArrayGetItem($.L1[0].left, 0)", "flag.$": "$.L1[0].left.failed", "all.$": "$.L1" });
  });

  it("with fast retries, waits the 1 s Step Functions allows at least, without backoff or jitter", () => {
    const definition = JSON.stringify({ StartAt: "t", States: { t: { Type: "Pass", Retry: [{ ErrorEquals: ["x"], IntervalSeconds: 5, BackoffRate: 2, MaxDelaySeconds: 60, JitterStrategy: "FULL" }], End: true } } });
    expect(JSON.parse(motoDefinition(definition, true)).States.t.Retry).toEqual([{ ErrorEquals: ["x"], IntervalSeconds: 1, BackoffRate: 1 }]);
  });
});

describeMoto("flowhooks emulate --engine moto", () => {
  it("--moto-endpoint uses a running server, serving the Lambda port it was started with (MOTO_PORT)", async () => {
    const lambdaPort = await freePort();
    const server = await startMoto({ lambdaPort });
    const engine = engineOption({ motoEndpoint: server.endpoint }, { MOTO_PORT: String(lambdaPort) })!;
    try {
      const result = await emulate({ target: await fixtureTarget("retries-exhausted"), engine, fastRetries: true, write: () => undefined });
      expect(result.status).toBe("FAILED");
      expect(result.invocations.filter((i) => i.task === "broken").map((i) => i.invocation)).toEqual([1, 2, 3]);
      expect(result.retryWaits).toMatchObject({ deployedMs: 3000, emulatedMs: 2000, shortened: true });
    } finally {
      await engine.close();
      await server.stop();
    }
  }, 180_000);

  it("prints the same JSON summary as the default engine, and exits 1 when the flow failed", async () => {
    process.env.FLOWHOOKS_EMULATE_ASSEMBLY = assemblyOf(await fixtureTarget("retries-exhausted"));
    try {
      const summary = async (engine: string) => {
        const { code, stdout } = await runCli(["emulate", "test/emulate/fixtures/retries-exhausted.ts", "--fast-retries", "--json", "--engine", engine]);
        const json = JSON.parse(stdout.trim().split("\n").pop()!);
        return { code, status: json.status, error: json.error, flowState: json.flowState.type, alerts: json.alerts.map((a: { subject: string; state: { type: string } }) => `${a.subject} ${a.state.type}`).sort() };
      };
      const byMoto = await summary("moto");
      expect(byMoto).toEqual(await summary("default"));
      expect(byMoto.code).toBe(1);
      expect(byMoto.status).toBe("FAILED");
    } finally {
      delete process.env.FLOWHOOKS_EMULATE_ASSEMBLY;
    }
  }, 180_000);
});
