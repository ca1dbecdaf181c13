import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { buildSchema } from "graphql";
import { describe, expect, it } from "vitest";
import { composeSupergraph, supergraphFromSchemaDir } from "../gateway/compose.js";
import { DEFAULT_SUBGRAPH_URL, generateSchemaFiles, staleSchemaFiles } from "../app/schema.js";
import { schemaDir } from "../src/paths.js";
import { SUBGRAPHS } from "../app/subgraphs.js";

/** schema/ is generated from the code and checked in: it must match the code and compose. */
describe("checked-in schema files", () => {
  it("are not stale (run `npm run schema` after changing a subgraph's types)", async () => {
    expect(await staleSchemaFiles()).toEqual([]);
  });

  it("cover every subgraph and the supergraph", async () => {
    const names = [...(await generateSchemaFiles()).keys()].sort();
    expect(names).toEqual([...SUBGRAPHS.map((s) => `${s.name}.graphql`), "supergraph.graphql"].sort());
  });

  it("compose into a supergraph that joins every subgraph and parses as a schema", async () => {
    const endpoints = SUBGRAPHS.map((s, i) => ({ name: s.name, url: DEFAULT_SUBGRAPH_URL(i) }));
    const supergraph = await supergraphFromSchemaDir(endpoints);
    for (const { name, url } of endpoints) expect(supergraph).toMatch(new RegExp(`@join__graph\\(name: "${name}", url: "${url}"\\)`));
    const schema = buildSchema(supergraph, { assumeValidSDL: true });
    expect(schema.getQueryType()?.getFields()).toHaveProperty("indicators");
    expect(schema.getQueryType()?.getFields()).toHaveProperty("viewer");
    expect(schema.getMutationType()?.getFields()).toHaveProperty("publishIndicators");
    expect(schema.getSubscriptionType()?.getFields()).toHaveProperty("indicatorPublished");
    // The checked-in supergraph is this composition, with the default local URLs.
    expect(await readFile(join(schemaDir(), "supergraph.graphql"), "utf8")).toBe(`${supergraph.trim()}\n`);
  });

  it("composition reports a conflict instead of composing it (the check above can fail)", async () => {
    const indicators = await readFile(join(schemaDir(), "indicators.graphql"), "utf8");
    // Another subgraph defining the shared InputError with a different field type does not compose.
    const rogue = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@shareable"])
type Query { rogue: InputError }
type InputError @shareable { field: Int message: String! }`;
    expect(() =>
      composeSupergraph([
        { name: "indicators", url: "http://127.0.0.1:1/graphql", sdl: indicators },
        { name: "rogue", url: "http://127.0.0.1:2/graphql", sdl: rogue },
      ]),
    ).toThrow(/supergraph composition failed[\s\S]*InputError/);
  });
});
