import type { EntityManager } from "@mikro-orm/postgresql";
import type { Tlp } from "../../src/auth/tlp.js";
import { query } from "../../src/db/sql.js";
import { publishedObject } from "./indicator.stix.js";
import type { Indicator } from "./indicator.type.js";
import { versionOf } from "./stix/version.js";

/** Writes to indicators.stix_object, the STIX store: new versions only, never an update in place. */

export interface NewVersion {
  id: string;
  type: string;
  /** As sent; null for objects without modified or created. */
  version: string | null;
  key: string;
  specVersion: string;
  tlp: Tlp;
  sharedWith: readonly string[];
  tlpMarked: boolean;
  revoked: boolean;
  object: Record<string, unknown>;
}

/** Stores versions of `owner`'s objects; a version already held is left as it is. */
export async function storeVersions(em: EntityManager, owner: string, versions: readonly NewVersion[]): Promise<void> {
  if (!versions.length) return;
  await query(
    em,
    `insert into indicators.stix_object (owner, id, type, version, version_key, spec_version, tlp, shared_with, tlp_marked, revoked, object)
     select $1, i.id, i.type, i.version, i.version_key, i.spec_version, i.tlp, array(select jsonb_array_elements_text(i.shared_with)),
            i.tlp_marked, i.revoked, i.object
       from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::boolean[], $10::boolean[], $11::jsonb[])
         with ordinality as i(id, type, version, version_key, spec_version, tlp, shared_with, tlp_marked, revoked, object, ord)
      order by i.ord
     on conflict (owner, id, version_key) do nothing`,
    [
      owner,
      versions.map((v) => v.id),
      versions.map((v) => v.type),
      versions.map((v) => v.version ?? ""),
      versions.map((v) => v.key),
      versions.map((v) => v.specVersion),
      versions.map((v) => v.tlp),
      versions.map((v) => JSON.stringify(v.sharedWith)),
      versions.map((v) => v.tlpMarked),
      versions.map((v) => v.revoked),
      versions.map((v) => JSON.stringify(v.object)),
    ],
    "stix_store",
  );
}

/** The versions of indicators the hub published itself (publishIndicators): the objects it exports for them. */
export function publishedVersions(indicators: readonly Indicator[]): NewVersion[] {
  return indicators.map((indicator) => {
    const object = publishedObject(indicator);
    return {
      id: indicator.id,
      type: "indicator",
      ...versionOf(object),
      specVersion: "2.1",
      tlp: indicator.tlp,
      sharedWith: indicator.sharedWith,
      tlpMarked: true,
      revoked: indicator.revoked,
      object,
    };
  });
}
