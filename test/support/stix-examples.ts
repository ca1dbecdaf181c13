import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../src/paths.js";

/** OASIS's STIX 2.1 example bundles (test/fixtures/stix/examples, as shared/stix/examples has them). */

const ROOT = join(projectRoot(), "test", "fixtures", "stix", "examples");

/** Every example file, by its path under the examples folder (threat-reports/apt1.json, ...). */
export function exampleFiles(dir = ""): string[] {
  return readdirSync(join(ROOT, dir))
    .sort()
    .flatMap((name) => {
      const path = dir ? `${dir}/${name}` : name;
      if (statSync(join(ROOT, path)).isDirectory()) return exampleFiles(path);
      return name.endsWith(".json") ? [path] : [];
    });
}

/** The objects of an example: a bundle's objects, or the one object a file holds. */
export function exampleObjects(file: string): any[] {
  const content = JSON.parse(readFileSync(join(ROOT, file), "utf8"));
  return content.type === "bundle" ? content.objects : [content];
}
