import { buildSchema, graphql } from "graphql";
import { GraphQLDateTime } from "graphql-scalars";
import { describe, expect, it } from "vitest";
import { withoutInputValues } from "../src/errors.js";

const schema = buildSchema(`enum K { A B } input P { kind: K! name: String! n: Int tags: [String!] } type Query { f(p: P!): Int }`);

async function messages(p: unknown, source = "query($p: P!) { f(p: $p) }"): Promise<string[]> {
  const r = await graphql({ schema, source, variableValues: { p } });
  return (r.errors ?? []).map((e) => withoutInputValues(e.message));
}

describe("errors about an input keep where and why, never the value", () => {
  it("drops graphql-js's quote of a refused variable, keeping the path and the rule", async () => {
    expect(await messages({ name: "Ivan Petrov; at \"x\"" })).toEqual(['Variable "$p" got an invalid value; Field "kind" of required type "K!" was not provided.']);
    expect(await messages({ kind: "IVAN", name: "x" })).toEqual(['Variable "$p" got an invalid value at "p.kind"; The value does not exist in "K" enum.']);
    expect(await messages({ kind: "A", name: 123456789 })).toEqual(['Variable "$p" got an invalid value at "p.name"; String cannot represent a non string value.']);
    expect(await messages({ kind: "A", name: "x", n: "SECRET-7" })).toEqual(['Variable "$p" got an invalid value at "p.n"; Int cannot represent non-integer value.']);
    expect(await messages({ kind: "A", name: "x", tags: [4111111111111111] })).toEqual(['Variable "$p" got an invalid value at "p.tags[0]"; String cannot represent a non string value.']);
    expect(await messages("Ivan Petrov")).toEqual(['Variable "$p" got an invalid value; Expected type "P" to be an object.']);
    expect(await messages({ kind: "A", name: "x", extra: "SECRETX" })).toEqual(['Variable "$p" got an invalid value; Field "extra" is not defined by type "P".']);
  });

  it("drops the value from a literal's and a scalar's refusal", async () => {
    expect(await messages(undefined, "query { f(p: {kind: A, name: 123456789}) }")).toEqual(["String cannot represent a non string value."]);
    const dateError = (() => {
      try {
        GraphQLDateTime.parseValue("2023-02-30T00:00:00Z Ivan");
      } catch (err) {
        return (err as Error).message;
      }
    })()!;
    expect(dateError).toContain("Ivan");
    expect(withoutInputValues(dateError)).toBe("DateTime cannot represent an invalid date-time-string.");
    expect(withoutInputValues("DateTime cannot represent non string or Date type 123456789")).toBe("DateTime cannot represent non string or Date type.");
  });
});
