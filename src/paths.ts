import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The project's root (where package.json is), from sources under vitest or compiled under dist/. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("package.json not found above the hub's sources");
    dir = parent;
  }
  return dir;
}

export const schemaDir = () => join(projectRoot(), "schema");
