import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../src/paths.js";

/**
 * The layers, from the bottom: src/ (the kernel) imports none of the others; gateway/ and each
 * subgraph import the kernel only, and no subgraph another; app/ (the processes' entry points, the
 * composition root) may import them all.
 */
const root = projectRoot();

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));
}

/** Every relative import of a file, as a path from the project's root. */
function imports(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const found = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]!);
  return found.map((spec) => relative(root, resolve(root, file, "..", spec)));
}

/** The files of `dir` that import something under one of `forbidden`, with what they import. */
function crossings(dir: string, forbidden: (file: string) => string[]): string[] {
  return sources(dir).flatMap((file) =>
    imports(file)
      .filter((target) => forbidden(file).some((top) => target === top || target.startsWith(`${top}${sep}`)))
      .map((target) => `${file} imports ${target}`),
  );
}

describe("the layers", () => {
  it("the kernel (src/) imports nothing above it", () => {
    expect(sources("src").length).toBeGreaterThan(20);
    expect(crossings("src", () => ["gateway", "subgraphs", "app", "bench", "test"])).toEqual([]);
  });

  it("the gateway imports no subgraph and no entry point", () => {
    expect(crossings("gateway", () => ["subgraphs", "app", "bench", "test"])).toEqual([]);
  });

  it("a subgraph imports no other subgraph, nor the gateway or an entry point", () => {
    const names = readdirSync(join(root, "subgraphs"), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(names.length).toBeGreaterThanOrEqual(3);
    const others = (file: string) => [
      ...names.filter((n) => !file.startsWith(join("subgraphs", n) + sep)).map((n) => join("subgraphs", n)),
      "gateway",
      "app",
      "bench",
      "test",
    ];
    expect(crossings("subgraphs", others)).toEqual([]);
  });

  it("finds a crossing where there is one", () => {
    // The check itself: app/ does import the gateway and the subgraphs.
    expect(crossings("app", () => ["gateway"])).not.toEqual([]);
    expect(crossings("app", () => ["subgraphs"])).not.toEqual([]);
  });
});
