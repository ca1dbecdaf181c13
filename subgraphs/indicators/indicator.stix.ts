import { createHash, randomUUID } from "node:crypto";
import type { Tlp } from "../../src/auth/tlp.js";
import type { Indicator } from "./indicator.type.js";
import { markingDefinitionsFor } from "./stix-object.export.js";
import { TLP_2_0_MARKINGS } from "./stix/markings.js";

/**
 * STIX 2.1 export: indicators as `indicator` objects, each with `created_by_ref` to an `identity` for
 * its owner org and `object_marking_refs` to the TLP 2.0 marking definition of its level, all in one
 * `bundle`. The bundle validates against the OASIS STIX 2.1 JSON schemas.
 */

/** The STIX id of each level's TLP 2.0 marking definition. */
export const TLP_MARKING_IDS = Object.fromEntries(Object.entries(TLP_2_0_MARKINGS).map(([tlp, m]) => [tlp, m.id])) as Record<Tlp, string>;

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
    object_marking_refs: [TLP_MARKING_IDS[i.tlp]],
  };
}

/**
 * A bundle of exported objects (see exportedObject), with the TLP marking definitions they refer to and
 * the identities of the member orgs whose own indicators are among them; with none, a bundle without
 * `objects` (which must not be empty).
 */
export function stixBundle(items: { owner: string; object: Record<string, unknown> }[]): Record<string, unknown> {
  const id = `bundle--${randomUUID()}`;
  if (!items.length) return { type: "bundle", id };
  const objects = items.map((i) => i.object);
  const identities = new Map<string, string>();
  for (const { owner, object } of items) if (object.created_by_ref === identityIdOf(owner)) identities.set(object.created_by_ref, owner);
  return {
    type: "bundle",
    id,
    objects: [
      ...markingDefinitionsFor(objects),
      ...[...identities.values()].sort().map((org) => ({
        type: "identity",
        spec_version: "2.1",
        id: identityIdOf(org),
        created: IDENTITY_CREATED,
        modified: IDENTITY_CREATED,
        name: org,
        identity_class: "organization",
      })),
      ...objects,
    ],
  };
}
