import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, usesDevIssuer } from "../src/config.js";
import { projectRoot } from "../src/paths.js";

/**
 * The configuration: every wrong variable reported at once by name, and the real entry points stopping
 * with that report (no stack trace) before they start anything.
 */

/** The problems loadConfig reports for this environment (fails the test if it accepts it). */
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/^Invalid configuration:/);
    return (err as ConfigError).problems;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe("loadConfig", () => {
  it("accepts an empty environment with the documented defaults", () => {
    const config = loadConfig({});
    expect(config.server).toMatchObject({ NODE_ENV: "development", HOST: "127.0.0.1", PORT: 4000, SUBGRAPH_PORT_BASE: 4101 });
    expect(config.database.DATABASE_URL).toBeUndefined();
    expect(config.auth.AUTH_ALGORITHMS).toEqual(["ES256", "RS256", "EdDSA"]);
    expect(config.auth.AUTH_CLOCK_SKEW_SECONDS).toBeLessThanOrEqual(60);
    expect(config.limits).toMatchObject({ MAX_DEPTH: 10, MAX_ALIASES: 15, MAX_BATCHED_OPERATIONS: 5 });
    expect(usesDevIssuer(config)).toBe(true);
  });

  it("reports every wrong variable at once, each by name", () => {
    const found = problems({ PORT: "abc", DATABASE_URL: "mysql://x", AUTH_ALGORITHMS: "HS256" });
    expect(found).toHaveLength(3);
    const byVariable = (name: string) => found.find((p) => p.startsWith(`${name}:`));
    expect(byVariable("PORT")).toMatch(/number/);
    expect(byVariable("PORT")).toContain('"abc"');
    expect(byVariable("DATABASE_URL")).toMatch(/postgres/);
    expect(byVariable("AUTH_ALGORITHMS")).toMatch(/ES256/);
    expect(byVariable("AUTH_ALGORITHMS")).toContain('"HS256"');
  });

  it("refuses symmetric and unsigned algorithms wherever they appear in the list", () => {
    for (const algorithms of ["ES256,HS256", "none", "ES256, HS512", ","]) {
      const found = problems({ AUTH_ALGORITHMS: algorithms });
      expect(found, algorithms).toHaveLength(1);
      expect(found[0], algorithms).toMatch(/^AUTH_ALGORITHMS:/);
    }
    expect(loadConfig({ AUTH_ALGORITHMS: "ES256, EdDSA" }).auth.AUTH_ALGORITHMS).toEqual(["ES256", "EdDSA"]);
  });

  it("needs AUTH_ISSUER and AUTH_AUDIENCE with a JWKS", () => {
    const found = problems({ AUTH_JWKS_URL: "https://idp.example.gov/.well-known/jwks.json" });
    expect(found).toHaveLength(2);
    expect(found.find((p) => p.startsWith("AUTH_ISSUER:"))).toMatch(/required when a JWKS is configured/);
    expect(found.find((p) => p.startsWith("AUTH_AUDIENCE:"))).toMatch(/required when a JWKS is configured/);
    expect(problems({ AUTH_JWKS_FILE: "/etc/watchfloor/jwks.json", AUTH_ISSUER: "https://idp.example.gov" })).toEqual([
      expect.stringMatching(/^AUTH_AUDIENCE:/),
    ]);
    const config = loadConfig({ AUTH_JWKS_URL: "https://idp.example.gov/jwks", AUTH_ISSUER: "https://idp.example.gov", AUTH_AUDIENCE: "watchfloor" });
    expect(usesDevIssuer(config)).toBe(false);
  });

  it("refuses a JWKS URL that is not http(s), and both a JWKS URL and file", () => {
    const issuer = { AUTH_ISSUER: "https://idp.example.gov", AUTH_AUDIENCE: "watchfloor" };
    expect(problems({ ...issuer, AUTH_JWKS_URL: "file:///etc/passwd" })).toEqual([expect.stringMatching(/^AUTH_JWKS_URL:/)]);
    expect(problems({ ...issuer, AUTH_JWKS_URL: "not a url" })).toEqual([expect.stringMatching(/^AUTH_JWKS_URL:/)]);
    expect(problems({ ...issuer, AUTH_JWKS_URL: "https://idp.example.gov/jwks", AUTH_JWKS_FILE: "/etc/jwks.json" })).toEqual([
      expect.stringMatching(/^AUTH_JWKS_FILE:.*not both/),
    ]);
  });

  it("refuses NODE_ENV=production without a JWKS, identifier hash keys or record keys (development makes them itself)", () => {
    const found = problems({ NODE_ENV: "production" });
    expect(found).toHaveLength(4);
    expect(found[0]).toMatch(/^AUTH_JWKS_URL: .*production/);
    expect(found[1]).toMatch(/^IDENTIFIER_HASH_KEYS: .*production/);
    expect(found[2]).toMatch(/^RECORD_MASTER_KEYS: .*production/);
    expect(found[3]).toMatch(/^RECORD_INDEX_KEYS: .*production/);
    // A master key must be exactly 32 bytes (AES-256).
    expect(problems({ RECORD_MASTER_KEYS: `m1:${Buffer.alloc(48, 1).toString("base64")}` })).toEqual([expect.stringMatching(/^RECORD_MASTER_KEYS: /)]);
    expect(problems({ IDENTIFIER_HASH_KEYS: "k1:too-short" })).toEqual([expect.stringMatching(/^IDENTIFIER_HASH_KEYS: /)]);
    const config = loadConfig({
      NODE_ENV: "production",
      AUTH_JWKS_URL: "https://idp.example.gov/jwks",
      AUTH_ISSUER: "https://idp.example.gov",
      AUTH_AUDIENCE: "watchfloor",
      IDENTIFIER_HASH_KEYS: `k2:${Buffer.alloc(32, 7).toString("base64")},k1:${Buffer.alloc(32, 1).toString("base64")}`,
      RECORD_MASTER_KEYS: `m2:${Buffer.alloc(32, 9).toString("base64")},m1:${Buffer.alloc(32, 3).toString("base64")}`,
      RECORD_INDEX_KEYS: `i1:${Buffer.alloc(32, 5).toString("base64")}`,
    });
    expect(config.server.NODE_ENV).toBe("production");
  });

  it("refuses a clock skew over 60 s, an unknown NODE_ENV and out-of-range limits, all by name", () => {
    const found = problems({ AUTH_CLOCK_SKEW_SECONDS: "3600", NODE_ENV: "staging", MAX_DEPTH: "0", MAX_BATCHED_OPERATIONS: "-1", EMBEDDED_PG_PORT: "70000", LOG_LEVEL: "loud" });
    expect(found.map((p) => p.split(":")[0]).sort()).toEqual(
      ["AUTH_CLOCK_SKEW_SECONDS", "EMBEDDED_PG_PORT", "LOG_LEVEL", "MAX_BATCHED_OPERATIONS", "MAX_DEPTH", "NODE_ENV"].sort(),
    );
  });

  it("treats a blank numeric variable as unset, not as 0", () => {
    // `PORT=` in an env file must not make the gateway listen on a random port, nor turn limits off.
    const config = loadConfig({ PORT: "", MAX_BATCHED_OPERATIONS: " ", SUBGRAPH_PORT_BASE: "", AUTH_ALGORITHMS: "" });
    expect(config.server.PORT).toBe(4000);
    expect(config.auth.AUTH_ALGORITHMS).toEqual(["ES256", "RS256", "EdDSA"]);
    expect(config.server.SUBGRAPH_PORT_BASE).toBe(4101);
    expect(config.limits.MAX_BATCHED_OPERATIONS).toBe(5);
  });

  it("does not echo a long value whole", () => {
    const found = problems({ DATABASE_URL: `mysql://${"x".repeat(500)}` });
    expect(found[0]!.length).toBeLessThan(200);
  });
});

// Concurrent: each child process loads the whole hub's modules before it reads its settings.
describe.concurrent("the compiled entry points refuse bad settings without a stack trace", () => {
  const dist = join(projectRoot(), "dist", "app");

  async function run(script: string, args: string[], env: Record<string, string>) {
    const file = join(dist, script);
    expect(existsSync(file), `${file} is missing: npm test compiles it (tsc -p .) before vitest runs`).toBe(true);
    const dataDir = await mkdtemp(join(tmpdir(), "watchfloor-config-"));
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      // A clean environment: nothing from the developer's shell (DATABASE_URL, PORT...) leaks in.
      const child = spawn(process.execPath, [file, ...args], {
        cwd: projectRoot(),
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", DATA_DIR: dataDir, LOG_LEVEL: "silent", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      // A process that accepted the settings would start serving: stop it, and the assertions fail.
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  it("start.js with PORT=abc exits non-zero naming PORT and what it expected", async () => {
    const { code, stdout, stderr } = await run("start.js", [], { PORT: "abc" });
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(stderr).toMatch(/PORT: .*expected number/);
    expect(stderr).toContain('"abc"');
    expect(stderr + stdout).not.toMatch(/^\s+at /m);
    expect(stdout).not.toMatch(/Watchfloor is up/);
  });

  it("start.js lists every wrong variable in one report", async () => {
    const { code, stderr } = await run("start.js", [], { PORT: "abc", DATABASE_URL: "mysql://x", AUTH_ALGORITHMS: "HS256" });
    expect(code).not.toBe(0);
    for (const name of ["PORT", "DATABASE_URL", "AUTH_ALGORITHMS"]) expect(stderr).toMatch(new RegExp(`^\\s+- ${name}: `, "m"));
    expect(stderr).not.toMatch(/^\s+at /m);
  });

  it("token.js --org x --kind NOPE exits non-zero naming --kind and the kinds it accepts", async () => {
    const { code, stdout, stderr } = await run("token.js", ["--org", "x", "--kind", "NOPE"], {});
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(stderr).toMatch(/--kind: one of PROVIDER, RESELLER, AGENCY, OPERATOR/);
    expect(stdout).not.toMatch(/^ey/);
    expect(stderr + stdout).not.toMatch(/^\s+at /m);
  });

  it("token.js with an unknown option exits non-zero with the usage, no stack trace", async () => {
    const { code, stderr } = await run("token.js", ["--org", "x", "--kind", "PROVIDER", "--frobnicate"], {});
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/frobnicate/);
    expect(stderr).toMatch(/usage:/);
    expect(stderr).not.toMatch(/^\s+at /m);
  });
});
