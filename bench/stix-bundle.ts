import { createHash, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { observablesOfPattern } from "../subgraphs/indicators/stix-object.projection.js";

/**
 * What the STIX figures import: the two threat-report example bundles as they are, and generated
 * indicators as a feed would send them (distinct ids; equality patterns on IPv4 addresses, domains,
 * URLs and SHA-256 hashes, a fifth of them the OR of two observables; TLP markings, labels,
 * confidence), with what a lossless import must leave behind.
 */

export type StixObject = Record<string, unknown>;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const REPORT_BUNDLES = ["apt1", "poisonivy"] as const;

export async function loadReports(): Promise<{ name: string; bundle: StixObject }[]> {
  return Promise.all(
    REPORT_BUNDLES.map(async (name) => ({
      name,
      bundle: JSON.parse(await readFile(join(ROOT, "test", "fixtures", "stix", "examples", "threat-reports", `${name}.json`), "utf8")) as StixObject,
    })),
  );
}

/** TLP 1.0 marking definitions, known to every STIX consumer by their fixed ids. */
const TLP_GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
const TLP_AMBER = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";

const ipv4 = (n: number) => `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
const CATEGORIES = ["c2", "phishing", "scanner", "malware-distribution", "exfiltration"];

/**
 * `count` indicator objects; `slot` keeps each (run, side)'s values apart (a block of 2^21 addresses
 * and its own domain). Marked TLP:GREEN, TLP:AMBER, or not at all (the import's level applies).
 */
export function generatedIndicators(slot: number, count: number): StixObject[] {
  const base = 0x0b00_0000 + slot * 0x20_0000;
  const zone = `s${slot}.bench.example`;
  const epoch = Date.UTC(2026, 0, 1);
  return Array.from({ length: count }, (_, n) => {
    const host = `h${n.toString(36)}.${zone}`;
    const url = `http://${host}/dl/${n}/payload.bin?k=${(n * 7919) % 100_003}`;
    const sha256 = createHash("sha256").update(`${slot}:${n}`).digest("hex");
    const kind = n % 10;
    const pattern =
      kind < 3 ? `[ipv4-addr:value = '${ipv4(base + n)}']`
      : kind < 5 ? `[domain-name:value = '${host}']`
      : kind < 7 ? `[url:value = '${url}']`
      : kind < 8 ? `[file:hashes.'SHA-256' = '${sha256}']`
      : kind < 9 ? `[ipv4-addr:value = '${ipv4(base + n)}'] OR [domain-name:value = '${host}']`
      : `[domain-name:value = '${host}' OR url:value = '${url}']`;
    const at = new Date(epoch + n * 1000).toISOString();
    const marking = n % 3 === 0 ? [TLP_GREEN] : n % 3 === 1 ? [TLP_AMBER] : null;
    return {
      type: "indicator",
      spec_version: "2.1",
      id: `indicator--${randomUUID()}`,
      created: at,
      modified: at,
      name: `bench ${CATEGORIES[n % CATEGORIES.length]} ${n}`,
      indicator_types: ["malicious-activity"],
      pattern,
      pattern_type: "stix",
      valid_from: at,
      labels: ["bench", CATEGORIES[n % CATEGORIES.length]!],
      confidence: 30 + (n % 70),
      ...(marking ? { object_marking_refs: marking } : {}),
    };
  });
}

export interface Expected {
  objects: number;
  indicators: number;
  observables: number;
}

/** The rows a lossless import of `objects` leaves: every object, an indicator row each, their observables. */
export function expectedRows(objects: readonly StixObject[]): Expected {
  let indicators = 0;
  let observables = 0;
  for (const o of objects) {
    if (o.type !== "indicator") continue;
    indicators++;
    if (o.pattern_type !== "stix") continue;
    const parsed = observablesOfPattern(String(o.pattern));
    if (!parsed.ok) throw new Error(`bench object ${String(o.id)}: ${parsed.message}`);
    observables += parsed.observables.length;
  }
  return { objects: objects.length, indicators, observables };
}
