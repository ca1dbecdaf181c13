import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../src/paths.js";
import { parsePattern } from "../subgraphs/indicators/stix/pattern.js";
import { pythonVenv, runPython } from "./support/python.js";

/**
 * The pattern corpus cross-checked against OASIS's own validator, stix2-patterns from PyPI, in a
 * test-only virtual environment. Where PyPI cannot be reached the test says so and is skipped, never
 * passed; test/stix-pattern.test.ts checks the same corpus against the verdicts recorded in it.
 */

interface Entry {
  pattern: string;
  stix2patterns: "valid" | "invalid";
  hub?: "valid" | "invalid";
}

const corpus: Entry[] = JSON.parse(readFileSync(join(projectRoot(), "test", "fixtures", "stix-patterns.json"), "utf8")).patterns;

const SCRIPT = `
import json, sys
from stix2patterns.validator import run_validator
patterns = json.loads(open(sys.argv[1]).read())
print(json.dumps([not run_validator(p, stix_version="2.1") for p in patterns]))
`;

describe("STIX patterns against OASIS's stix2-patterns", () => {
  it("gives every pattern of the corpus the validator's verdict (the hub's own where the specification is stricter)", async (ctx) => {
    const venv = await pythonVenv(["stix2-patterns"]);
    if (!venv.ok) {
      console.warn(`skipped: no Python environment with stix2-patterns (${venv.reason})`);
      ctx.skip(venv.reason);
      return;
    }
    const file = join(projectRoot(), "test", "fixtures", "stix-patterns.json");
    const list = join(tmpdir(), `watchfloor-patterns-${process.pid}.json`);
    writeFileSync(list, JSON.stringify(corpus.map((e) => e.pattern)));
    const oasis: boolean[] = await runPython(venv, SCRIPT, [list]);
    expect(oasis).toHaveLength(corpus.length);
    corpus.forEach((entry, i) => {
      // The corpus's recorded verdict is the validator's, checked here where the validator runs.
      expect(oasis[i] ? "valid" : "invalid", `${file}: ${entry.pattern}`).toBe(entry.stix2patterns);
      const hub = parsePattern(entry.pattern).ok ? "valid" : "invalid";
      expect(hub, entry.pattern).toBe(entry.hub ?? entry.stix2patterns);
    });
  });
});
