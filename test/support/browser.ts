import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chromium, type BrowserContext } from "playwright-core";

/** Debian's Chromium: playwright-core drives it; no browser build is downloaded. */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * Makes sure Chromium is there. As root with apt-get (CI, a fresh machine of this project), it is
 * installed; otherwise the test fails saying how to install it, rather than passing without a browser.
 */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const root = process.getuid?.() === 0;
  const apt = spawnSync("sh", ["-c", "command -v apt-get"], { encoding: "utf8" }).status === 0;
  if (!root || !apt) {
    throw new Error(
      `Chromium is needed at ${CHROMIUM} for the browser tests: install it (Debian/Ubuntu: sudo apt-get install -y chromium), then run the tests again`,
    );
  }
  const install = spawnSync("sh", ["-c", "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (install.status !== 0 || !existsSync(CHROMIUM)) {
    throw new Error(`installing Chromium with apt-get failed (exit ${install.status}):\n${install.stderr.slice(-2000)}`);
  }
}

/**
 * Headless Chromium on a new, empty profile, with nothing that phones home, and every request that
 * is not to 127.0.0.1 aborted and recorded in `blocked`: a page that needs the internet fails.
 */
export async function launchOffline(userDataDir: string): Promise<{ context: BrowserContext; blocked: string[] }> {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const blocked: string[] = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).hostname === "127.0.0.1") return route.continue();
    blocked.push(url);
    return route.abort("internetdisconnected");
  });
  return { context, blocked };
}
