import { TLP_LEVELS, type Tlp } from "../../src/auth/tlp.js";
import { InputError } from "../../src/graphql/common.types.js";
import { excerpt, malformedTextAt, NOT_WELL_FORMED } from "../../src/text.js";
import type { IndicatorInput } from "./indicator.input.js";
import type { ObservableType } from "./indicator.normalize.js";
import { TLP_MARKING_IDS } from "./indicator.stix.js";
import { LABEL_PATTERN, LABEL_RULE, MAX_LABELS } from "./indicator.validation.js";

/**
 * STIX 2.1 import: the `indicator` objects of a bundle become the hub's indicators, one per observable.
 * A pattern is imported when it is one observation of simple equality comparisons joined by OR (the
 * common shape of shared feeds) on the observables the hub carries; anything else is refused for that
 * object with the reason.
 */

const TLP_1_0: Record<string, Tlp> = {
  "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "CLEAR", // TLP:WHITE
  "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "GREEN",
  "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "AMBER",
  "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "RED",
};
const TLP_BY_MARKING: Record<string, Tlp> = {
  ...TLP_1_0,
  ...Object.fromEntries(Object.entries(TLP_MARKING_IDS).map(([tlp, id]) => [id, tlp as Tlp])),
};

const HASHES: Record<string, ObservableType> = { md5: "MD5", "sha-1": "SHA1", sha1: "SHA1", "sha-256": "SHA256", sha256: "SHA256" };

/** `ipv4-addr:value = '…'` and the like, to the hub's type; null when the hub does not carry it. */
function observableType(path: string, value: string): ObservableType | null {
  const p = path.replace(/\s+/g, "");
  if (p === "ipv4-addr:value" || p === "ipv6-addr:value") {
    if (value.includes("/")) return "CIDR";
    return p === "ipv4-addr:value" ? "IPV4" : "IPV6";
  }
  if (p === "domain-name:value") return "DOMAIN";
  if (p === "url:value") return "URL";
  if (p === "email-addr:value") return "EMAIL";
  const hash = /^file:hashes\.(?:'([^']+)'|([A-Za-z0-9-]+))$/.exec(p);
  if (hash) return HASHES[(hash[1] ?? hash[2])!.toLowerCase()] ?? null;
  return null;
}

const COMPARISON = /^\s*([a-z0-9-]+:[A-Za-z0-9_.'-]+)\s*=\s*'((?:[^'\\]|\\.)*)'\s*$/;

/** The observables of a pattern, or why it cannot be imported. */
export function observablesOf(pattern: string): { ok: true; observables: { type: ObservableType; value: string }[] } | { ok: false; message: string } {
  const body = /^\s*\[(.*)\]\s*$/s.exec(pattern)?.[1];
  if (body === undefined || body.includes("[") || /\sAND\s/i.test(body)) {
    return { ok: false, message: "only one observation of equality comparisons joined by OR can be imported" };
  }
  const observables = [];
  for (const comparison of body.split(/\sOR\s/i)) {
    const match = COMPARISON.exec(comparison);
    if (!match) return { ok: false, message: `not an equality comparison the hub can import: ${excerpt(comparison.trim(), 80)}` };
    const value = match[2]!.replace(/\\(.)/g, "$1");
    const type = observableType(match[1]!, value);
    if (!type) return { ok: false, message: `the hub carries no observable like ${match[1]}` };
    observables.push({ type, value });
  }
  return { ok: true, observables };
}

/**
 * STIX indicator types and labels as hub labels, or the first one that is not a hub label: they are
 * the publisher's words, so they are kept as they are or refused, never rewritten, cut or dropped.
 */
function labelsOf(object: Record<string, unknown>): { ok: true; labels: string[] } | { ok: false; field: string; message: string } {
  const labels: string[] = [];
  for (const field of ["indicator_types", "labels"] as const) {
    const list = object[field];
    if (list === undefined) continue;
    if (!Array.isArray(list)) return { ok: false, field, message: "must be a list of strings" };
    for (const [i, label] of list.entries()) {
      if (typeof label !== "string" || !LABEL_PATTERN.test(label)) return { ok: false, field: `${field}[${i}]`, message: LABEL_RULE };
      if (!labels.includes(label)) labels.push(label);
    }
  }
  if (labels.length > MAX_LABELS) return { ok: false, field: "labels", message: `at most ${MAX_LABELS} labels, indicator_types and labels together (got ${labels.length})` };
  return { ok: true, labels };
}

export interface ImportDefaults {
  tlp: Tlp;
  sharedWith: string[];
}

export type ObjectPlan =
  | { index: number; stixId: string | null; inputs: IndicatorInput[] }
  | { index: number; stixId: string | null; error: InputError };

/** A STIX timestamp, absent (null), or not a timestamp (undefined): refused rather than ignored. */
const timestamp = (v: unknown): Date | null | undefined => (v === undefined ? null : typeof v === "string" && !Number.isNaN(Date.parse(v)) ? new Date(v) : undefined);

/** One plan per `indicator` object of the bundle: the inputs to publish, or why it is refused. */
export function planImport(bundle: Record<string, unknown>, defaults: ImportDefaults): { plans: ObjectPlan[]; skipped: number } {
  const objects = Array.isArray(bundle.objects) ? (bundle.objects as unknown[]) : [];
  const plans: ObjectPlan[] = [];
  let skipped = 0;
  objects.forEach((object, index) => {
    const o = (object ?? {}) as Record<string, unknown>;
    if (o.type !== "indicator") {
      skipped++;
      return;
    }
    const stixId = typeof o.id === "string" ? o.id : null;
    const refuse = (field: string, message: string) => plans.push({ index, stixId, error: new InputError(`objects[${index}].${field}: ${message}`, `objects[${index}].${field}`) });
    const malformed = malformedTextAt(o, `objects[${index}]`);
    if (malformed !== null) return plans.push({ index, stixId, error: new InputError(`${malformed}: ${NOT_WELL_FORMED}`, malformed) });
    if (o.pattern_type !== undefined && o.pattern_type !== "stix") return refuse("pattern_type", "only STIX patterns can be imported");
    if (typeof o.pattern !== "string") return refuse("pattern", "missing");
    if (o.revoked === true) return refuse("revoked", "a revoked indicator is not imported");
    const parsed = observablesOf(o.pattern);
    if (!parsed.ok) return refuse("pattern", parsed.message);
    const marked = (Array.isArray(o.object_marking_refs) ? o.object_marking_refs : []).map((id) => TLP_BY_MARKING[String(id)]).filter(Boolean) as Tlp[];
    // The most restrictive TLP marking wins; unmarked objects take the caller's default.
    const tlp = marked.length ? marked.reduce((a, b) => (TLP_LEVELS.indexOf(b) > TLP_LEVELS.indexOf(a) ? b : a)) : defaults.tlp;
    // Checked like any published description (its length included) when it is published below.
    if (o.description !== undefined && typeof o.description !== "string") return refuse("description", "must be a string");
    if (o.confidence !== undefined && typeof o.confidence !== "number") return refuse("confidence", "must be an integer from 0 to 100");
    const validFrom = timestamp(o.valid_from);
    if (validFrom === undefined) return refuse("valid_from", "not a timestamp");
    const validUntil = timestamp(o.valid_until);
    if (validUntil === undefined) return refuse("valid_until", "not a timestamp");
    const labels = labelsOf(o);
    if (!labels.ok) return refuse(labels.field, labels.message);
    plans.push({
      index,
      stixId,
      inputs: parsed.observables.map((observable) => ({
        ...observable,
        tlp,
        sharedWith: defaults.sharedWith,
        confidence: (o.confidence as number | undefined) ?? null,
        validFrom,
        validUntil,
        labels: labels.labels,
        description: (o.description as string | undefined) ?? null,
      })),
    });
  });
  return { plans, skipped };
}
