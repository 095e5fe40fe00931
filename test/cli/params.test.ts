import { describe, expect, it } from "vitest";
import { parseParams, UsageError } from "../../lib/cli/index";

describe("--param", () => {
  it("parses values as JSON when they parse, as strings otherwise; later ones win", () => {
    expect(parseParams(["n=3", "s=abc", "flag=true", 'o={"a":[1]}', "empty=", "eq=a=b", "n=4"])).toEqual({
      n: 4,
      s: "abc",
      flag: true,
      o: { a: [1] },
      empty: "",
      eq: "a=b",
    });
  });

  it("refuses a value without a name, naming the form to use", () => {
    expect(() => parseParams(["=3"])).toThrow(UsageError);
    expect(() => parseParams(["=3"])).toThrow("write it as --param name=value");
  });
});
