/** moto for tests: one line to skip without it (fail with CI set), a server per suite on a free port. */
import { afterAll, beforeAll } from "vitest";
import { MOTO_INSTALL, motoCommand, startMoto, type MotoServer, type StartMotoOptions } from "../../lib/emulate/moto/server";
import { describeWithTool } from "./external-tool";

export const motoInstalled = motoCommand() !== undefined;

/** `describe` for suites that need moto's server. */
export const describeMoto = describeWithTool("moto's server (moto_server)", motoInstalled, MOTO_INSTALL);

/** Starts moto before the suite's tests and stops it after; read `.current` inside tests. */
export function useMoto(options: StartMotoOptions = {}): { current: MotoServer } {
  const holder = {} as { current: MotoServer };
  beforeAll(async () => {
    holder.current = await startMoto(options);
  }, 60_000);
  afterAll(async () => {
    await holder.current?.stop();
  });
  return holder;
}

/** Credentials and region for SDK clients pointed at moto (never the host's). */
export function motoClientConfig(moto: MotoServer) {
  return {
    endpoint: moto.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  };
}
