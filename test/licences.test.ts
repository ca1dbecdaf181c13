import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../src/paths.js";

/** Licences a hosted service may not run: Elastic-2.0 forbids it, AGPL would open the whole hub. */
const FORBIDDEN = /Elastic|AGPL|SSPL|BUSL/i;

describe("runtime dependencies", () => {
  it("include no Elastic-2.0, AGPL, SSPL or BUSL package", () => {
    const root = projectRoot();
    const paths = execFileSync("npm", ["ls", "--omit=dev", "--all", "--parseable"], { cwd: root, encoding: "utf8" })
      .split("\n")
      .filter((p) => p && p !== root);
    expect(paths.length).toBeGreaterThan(50);
    const packages = paths.map((dir) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name: string; license?: unknown });
    // The libraries the hub is built on are among what was checked (the subgraph library included).
    const names = new Set(packages.map((pkg) => pkg.name));
    for (const name of ["@apollo/subgraph", "@apollo/server", "@graphql-hive/gateway-runtime", "@mikro-orm/core", "type-graphql"]) {
      expect(names, name).toContain(name);
    }
    const offending = packages.flatMap((pkg) => {
      const licence = typeof pkg.license === "string" ? pkg.license : JSON.stringify(pkg.license ?? "");
      return FORBIDDEN.test(licence) ? [`${pkg.name} (${licence})`] : [];
    });
    expect(offending).toEqual([]);
  });
});
