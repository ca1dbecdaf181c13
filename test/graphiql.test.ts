import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair } from "jose";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureChromium, launchOffline } from "./support/browser.js";
import { orgId, startTestHub, type TestHub, PRODUCTION_KEYS } from "./support/hub.js";

/**
 * GraphiQL in development, in a real browser with no network but 127.0.0.1: the page must bring
 * everything it needs from the hub, and a query with the token in GraphiQL's Headers pane must answer.
 */
describe("GraphiQL at /graphql (development)", () => {
  let t: TestHub;
  let dir: string;
  let browser: { context: BrowserContext; blocked: string[] } | undefined;
  beforeAll(async () => {
    ensureChromium();
    t = await startTestHub({ NODE_ENV: "development" });
    dir = await mkdtemp(join(tmpdir(), "watchfloor-graphiql-"));
    browser = await launchOffline(join(dir, "profile"));
  }, 600_000);
  afterAll(async () => {
    await browser?.context.close();
    await t?.stop();
    // The screenshot stays for a look when the test fails.
    if (dir && !process.env.KEEP_SCREENSHOTS) await rm(dir, { recursive: true, force: true });
  });

  it("loads with no outside network and runs a query with the token from the Headers pane", async () => {
    const org = orgId("graphiql");
    const token = await t.token(org, "PROVIDER", ["indicators:read"]);
    const page = await browser!.context.newPage();
    await page.goto(t.gatewayUrl);

    // Replaces an editor's text as typing would, less the brackets and quotes the editor closes itself.
    const replaceText = async (editor: string, text: string) => {
      await page.locator(editor).first().click({ timeout: 30_000 });
      await page.keyboard.press("ControlOrMeta+a");
      await page.keyboard.insertText(text);
      await page.keyboard.press("Shift+ControlOrMeta+End");
      await page.keyboard.press("Delete");
    };
    // The Headers pane is open from the start, with a template; the token goes there as JSON.
    const headers = ".graphiql-editor-tool .graphiql-editor:not(.hidden)";
    await expect.poll(() => page.locator(headers).innerText(), { timeout: 30_000 }).toContain("authorization");
    await replaceText(headers, JSON.stringify({ authorization: `Bearer ${token}` }));
    await replaceText(".graphiql-query-editor .graphiql-editor", "{ viewer { org orgKind scopes } }");
    await page.locator(".graphiql-execute-button").click();

    // The editor shows spaces as no-break spaces.
    const result = async () => (await page.locator(".graphiql-response").innerText()).replace(/\s+/g, " ");
    await expect.poll(result, { timeout: 30_000 }).toContain(`"org": "${org}"`);
    const screenshot = join(dir, "graphiql.png");
    await page.screenshot({ path: screenshot });
    process.stdout.write(`GraphiQL screenshot: ${screenshot}\n`);
    expect(await result()).toContain('"orgKind": "PROVIDER"');

    // With the token in, the schema comes too (re-fetched with the ⟳ button): the docs list the API.
    await page.locator('[aria-label^="Re-fetch GraphQL schema"]').click();
    await page.locator('[aria-label="Show Documentation Explorer"]').click();
    await page.locator(".graphiql-doc-explorer").getByText("Query", { exact: true }).first().click();
    await expect.poll(() => page.locator(".graphiql-doc-explorer").innerText(), { timeout: 30_000 }).toContain("lookupIndicators(");
    await page.screenshot({ path: join(dir, "graphiql-docs.png") });
    expect(browser!.blocked).toEqual([]);
  });
});

describe("GraphiQL in production", () => {
  it("is not served: a browser's GET of /graphql gets no GraphiQL page", async () => {
    const dir = await mkdtemp(join(tmpdir(), "watchfloor-graphiql-prod-"));
    const { publicKey } = await generateKeyPair("ES256");
    await writeFile(join(dir, "jwks.json"), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }] }));
    const t = await startTestHub({
      NODE_ENV: "production",
      AUTH_JWKS_FILE: join(dir, "jwks.json"),
      AUTH_ISSUER: "https://idp.watchfloor.test",
      AUTH_AUDIENCE: "watchfloor",
      ...PRODUCTION_KEYS,
    });
    try {
      const res = await fetch(t.gatewayUrl, { headers: { accept: "text/html" } });
      const body = await res.text();
      expect(res.headers.get("content-type") ?? "").not.toContain("text/html");
      expect(body).not.toContain("GraphiQL");
    } finally {
      await t.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
