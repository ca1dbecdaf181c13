import type { Tlp } from "../../src/auth/tlp.js";
import { TLP_MARKING_IDS, tlpMarkingDefinition } from "./indicator.stix.js";

/**
 * A stored STIX object as every export path hands it out (TAXII, GraphQL `stixObjects`): verbatim,
 * except that an object which carried no TLP marking of its own and is held above CLEAR gets the TLP
 * 2.0 marking of its level added, so that no export reads as less restricted than the hub holds it.
 */
export interface ExportableObject {
  object: Record<string, unknown>;
  tlp: Tlp;
  tlpMarked: boolean;
}

export function exportedObject({ object, tlp, tlpMarked }: ExportableObject): Record<string, unknown> {
  if (tlpMarked || tlp === "CLEAR") return object;
  const refs = Array.isArray(object.object_marking_refs) ? (object.object_marking_refs as unknown[]) : [];
  const marking = TLP_MARKING_IDS[tlp];
  return refs.includes(marking) ? object : { ...object, object_marking_refs: [...refs, marking] };
}

const TLP_BY_MARKING = new Map(Object.entries(TLP_MARKING_IDS).map(([tlp, id]) => [id, tlp as Tlp]));

/** The TLP 2.0 marking-definition objects that these exported objects refer to (for a self-contained bundle). */
export function markingDefinitionsFor(objects: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  const levels = new Set<Tlp>();
  for (const o of objects) {
    for (const ref of Array.isArray(o.object_marking_refs) ? o.object_marking_refs : []) {
      const tlp = TLP_BY_MARKING.get(ref as string);
      if (tlp) levels.add(tlp);
    }
  }
  const held = new Set(objects.map((o) => o.id));
  return [...levels].filter((tlp) => !held.has(TLP_MARKING_IDS[tlp])).map(tlpMarkingDefinition);
}
