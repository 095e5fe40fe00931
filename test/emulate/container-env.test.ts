import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { containerEnv, runInContainer } from "../../lib/emulate/container-env";

describe("an emulated container's process.env", () => {
  it("lists an endpoint variable the emulator sets after the container listed its variables", () => {
    const env = containerEnv({ FLOWHOOKS_TASK: "a" });
    expect(runInContainer(env, () => Object.keys(process.env))).not.toContain("AWS_ENDPOINT_URL_FLOWHOOKS_TEST");
    process.env.AWS_ENDPOINT_URL_FLOWHOOKS_TEST = "http://127.0.0.1:1";
    try {
      expect(runInContainer(env, () => Object.entries(process.env))).toContainEqual(["AWS_ENDPOINT_URL_FLOWHOOKS_TEST", "http://127.0.0.1:1"]);
    } finally {
      delete process.env.AWS_ENDPOINT_URL_FLOWHOOKS_TEST;
    }
    expect(runInContainer(env, () => Object.keys(process.env))).not.toContain("AWS_ENDPOINT_URL_FLOWHOOKS_TEST");
  });

  it("lists a variable the container sets, defines or deletes from then on, however often it was listed before", () => {
    const env = containerEnv({ FLOWHOOKS_TASK: "a" });
    const keys = () => runInContainer(env, () => Object.keys(process.env));
    expect(keys()).toContain("FLOWHOOKS_TASK");
    runInContainer(env, () => void (process.env.FLOWHOOKS_SECRET_LATE = "value-1234"));
    expect(keys()).toContain("FLOWHOOKS_SECRET_LATE");
    runInContainer(env, () => void delete process.env.FLOWHOOKS_TASK);
    expect(keys()).not.toContain("FLOWHOOKS_TASK");
    runInContainer(env, () => void Object.defineProperty(process.env, "FLOWHOOKS_DEFINED", { value: "x", enumerable: true, configurable: true, writable: true }));
    expect(runInContainer(env, () => Object.entries(process.env))).toContainEqual(["FLOWHOOKS_DEFINED", "x"]);
    expect(keys()).not.toContain("FLOWHOOKS_DEFINED_ELSEWHERE");
    expect(runInContainer(containerEnv({}), () => Object.keys(process.env))).not.toContain("FLOWHOOKS_SECRET_LATE");
  });

  it("prints as the container's variables inside it and as the host's outside it", () => {
    process.env.FLOWHOOKS_HOST_ONLY_TEST = "host";
    try {
      const inside = runInContainer(containerEnv({ FLOWHOOKS_TASK: "a" }), () => inspect(process.env));
      expect(inside).toContain("FLOWHOOKS_TASK");
      expect(inside).not.toContain("FLOWHOOKS_HOST_ONLY_TEST");
      expect(inspect(process.env)).toContain("FLOWHOOKS_HOST_ONLY_TEST");
    } finally {
      delete process.env.FLOWHOOKS_HOST_ONLY_TEST;
    }
  });
});
