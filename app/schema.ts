import "reflect-metadata";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { composeSupergraph } from "../gateway/compose.js";
import { SUBGRAPHS } from "./subgraphs.js";
import { buildFederatedSchema } from "../src/graphql/subgraph.js";
import { schemaDir } from "../src/paths.js";

/**
 * `npm run schema` writes schema/<subgraph>.graphql for every subgraph and schema/supergraph.graphql
 * (composed with the default local URLs). `npm run schema -- --check` fails when a file is stale.
 */
export const DEFAULT_SUBGRAPH_URL = (index: number) => `http://127.0.0.1:${4101 + index}/graphql`;

export async function generateSchemaFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const subgraphs = [];
  for (const [index, def] of SUBGRAPHS.entries()) {
    const { sdl } = await buildFederatedSchema(def);
    files.set(`${def.name}.graphql`, sdl);
    subgraphs.push({ name: def.name, url: DEFAULT_SUBGRAPH_URL(index), sdl });
  }
  files.set("supergraph.graphql", `${composeSupergraph(subgraphs).trim()}\n`);
  return files;
}

/** The names of checked-in files that differ from what the code generates now. */
export async function staleSchemaFiles(): Promise<string[]> {
  const stale: string[] = [];
  for (const [name, text] of await generateSchemaFiles()) {
    const current = await readFile(join(schemaDir(), name), "utf8").catch(() => null);
    if (current !== text) stale.push(name);
  }
  return stale;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes("--check")) {
    const stale = await staleSchemaFiles();
    if (stale.length) {
      process.stderr.write(`stale in schema/: ${stale.join(", ")}; run npm run schema\n`);
      process.exit(1);
    }
    process.stdout.write("schema/ is up to date\n");
  } else {
    const files = await generateSchemaFiles();
    for (const [name, text] of files) await writeFile(join(schemaDir(), name), text);
    process.stdout.write(`wrote schema/: ${[...files.keys()].join(", ")}\n`);
  }
}
