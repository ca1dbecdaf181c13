import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { HashKey } from "./keyed-hash.js";

const KEY_BYTES = 32;

/** `id:base64key,id:base64key` as the key settings hold it (validated by the configuration). */
export function parseKeySpec(spec: string): HashKey[] {
  return spec.split(",").map((pair) => {
    const at = pair.indexOf(":");
    return { id: pair.slice(0, at), key: Buffer.from(pair.slice(at + 1), "base64") };
  });
}

/**
 * A key ring's spec from its setting, or in development from DATA_DIR/keys/<file> (made on first
 * start, mode 0600, never logged). Production requires the setting (src/config.ts).
 */
export async function keySpecFrom(setting: string | undefined, dataDir: string, file: string): Promise<string> {
  if (setting) return setting;
  const dir = join(dataDir, "keys");
  const path = join(dir, file);
  const existing = await readFile(path, "utf8").catch(() => null);
  if (existing) return existing.trim();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // `wx`: two processes starting at once on one DATA_DIR keep the first one's key.
  await writeFile(path, `dev-1:${randomBytes(KEY_BYTES).toString("base64")}\n`, { mode: 0o600, flag: "wx" }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "EEXIST") throw err;
  });
  await chmod(path, 0o600);
  return (await readFile(path, "utf8")).trim();
}
