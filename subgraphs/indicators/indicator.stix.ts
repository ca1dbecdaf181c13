import { createHash, randomUUID } from "node:crypto";
import type { Tlp } from "../../src/auth/tlp.js";
import type { Indicator } from "./indicator.type.js";

/**
 * STIX 2.1 export: indicators as `indicator` objects, each with `created_by_ref` to an `identity` for
 * its owner org and `object_marking_refs` to the TLP 2.0 marking definition of its level, all in one
 * `bundle`. The bundle validates against the OASIS STIX 2.1 JSON schemas.
 */

/** TLP 2.0 marking definitions as OASIS publishes them (the TLP 2.0 extension to STIX 2.1). */
const TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";
const TLP_MARKINGS: Record<Tlp, { id: string; name: string; level: string }> = {
  CLEAR: { id: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", name: "TLP:CLEAR", level: "clear" },
  GREEN: { id: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", name: "TLP:GREEN", level: "green" },
  AMBER: { id: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", name: "TLP:AMBER", level: "amber" },
  AMBER_STRICT: { id: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", name: "TLP:AMBER+STRICT", level: "amber+strict" },
  RED: { id: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", name: "TLP:RED", level: "red" },
};

/** The STIX id of each level's TLP 2.0 marking definition. */
export const TLP_MARKING_IDS = Object.fromEntries(Object.entries(TLP_MARKINGS).map(([tlp, m]) => [tlp, m.id])) as Record<Tlp, string>;

/** The namespace of the hub's identity ids: the same org always gets the same STIX identity id. */
const IDENTITY_NAMESPACE = "8f4a3c52-7c1e-4b7e-9a4e-6b0f2d1c9e57";
/** Identities are the hub's own records of member orgs; they carry one fixed creation time. */
const IDENTITY_CREATED = "2021-01-19T00:00:00.000Z";

/** RFC 4122 version 5 (SHA-1, name-based) UUID. */
export function uuidV5(name: string, namespace: string): string {
  const bytes = createHash("sha1")
    .update(Buffer.from(namespace.replace(/-/g, ""), "hex"))
    .update(name)
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The marking-definition object of a level, as OASIS publishes it. */
export function tlpMarkingDefinition(tlp: Tlp): Record<string, unknown> {
  return {
    type: "marking-definition",
    spec_version: "2.1",
    id: TLP_MARKINGS[tlp].id,
    created: "2022-10-01T00:00:00.000Z",
    name: TLP_MARKINGS[tlp].name,
    extensions: { [TLP_EXTENSION]: { extension_type: "property-extension", tlp_2_0: TLP_MARKINGS[tlp].level } },
  };
}

export const identityIdOf = (org: string) => `identity--${uuidV5(org, IDENTITY_NAMESPACE)}`;

/** The STIX object of an indicator the hub published itself (publishIndicators). */
export function publishedObject(i: Indicator): Record<string, unknown> {
  return {
    type: "indicator",
    spec_version: "2.1",
    id: i.id,
    created: i.createdAt.toISOString(),
    modified: i.modifiedAt.toISOString(),
    created_by_ref: identityIdOf(i.owner),
    name: i.value,
    ...(i.description ? { description: i.description } : {}),
    pattern: i.pattern,
    pattern_type: "stix",
    pattern_version: "2.1",
    valid_from: i.validFrom.toISOString(),
    ...(i.validUntil ? { valid_until: i.validUntil.toISOString() } : {}),
    ...(i.confidence !== null ? { confidence: i.confidence } : {}),
    ...(i.labels.length ? { labels: i.labels } : {}),
    revoked: i.revoked,
    object_marking_refs: [TLP_MARKINGS[i.tlp].id],
  };
}

/** A bundle of these indicators; with none, a bundle without `objects` (which must not be empty). */
export function stixBundle(indicators: Indicator[]): Record<string, unknown> {
  const id = `bundle--${randomUUID()}`;
  if (!indicators.length) return { type: "bundle", id };
  const owners = [...new Set(indicators.map((i) => i.owner))].sort();
  const levels = [...new Set(indicators.map((i) => i.tlp))];
  return {
    type: "bundle",
    id,
    objects: [
      ...levels.map(tlpMarkingDefinition),
      ...owners.map((org) => ({
        type: "identity",
        spec_version: "2.1",
        id: identityIdOf(org),
        created: IDENTITY_CREATED,
        modified: IDENTITY_CREATED,
        name: org,
        identity_class: "organization",
      })),
      ...indicators.map(publishedObject),
    ],
  };
}
