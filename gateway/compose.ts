import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { composeServices } from "@theguild/federation-composition";
import { parse } from "graphql";
import { schemaDir } from "../src/paths.js";

export interface SubgraphEndpoint {
  name: string;
  url: string;
}

/** Composes the supergraph from subgraph SDLs; fails with every composition error listed. */
export function composeSupergraph(subgraphs: { name: string; url: string; sdl: string }[]): string {
  const result = composeServices(subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })));
  if (result.errors?.length) {
    throw new Error(`supergraph composition failed:\n${result.errors.map((e) => `  - ${e.message}`).join("\n")}`);
  }
  return result.supergraphSdl!;
}

/** The supergraph for these endpoints, from the checked-in schema/<name>.graphql files. */
export async function supergraphFromSchemaDir(endpoints: SubgraphEndpoint[]): Promise<string> {
  const subgraphs = await Promise.all(
    endpoints.map(async (e) => ({ ...e, sdl: await readFile(join(schemaDir(), `${e.name}.graphql`), "utf8") })),
  );
  return composeSupergraph(subgraphs);
}
