import { TLP_LEVELS, type Tlp } from "../../../src/auth/tlp.js";

/**
 * Which TLP a STIX object carries, from its markings. TLP 1.0 and 2.0 marking definitions are known by
 * their fixed OASIS ids; any other marking definition is read by its content (`definition_type: "tlp"`
 * of STIX 2.0/2.1, or the TLP 2.0 extension), so a bundle cannot lower a level by minting its own id.
 * Statement markings are kept as they are. Object and granular markings count alike: the object takes
 * the most restrictive level it carries, since the hub shares whole objects. A marking the hub cannot
 * read (not defined in the envelope nor held by the org, or neither TLP nor statement) refuses the
 * object, never defaulted, unless the object also carries TLP:RED: nothing could restrict it further,
 * so it is kept, the reference verbatim.
 */

export const TLP_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

export const TLP_2_0_MARKINGS: Record<Tlp, { id: string; name: string; level: string }> = {
  CLEAR: { id: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", name: "TLP:CLEAR", level: "clear" },
  GREEN: { id: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", name: "TLP:GREEN", level: "green" },
  AMBER: { id: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", name: "TLP:AMBER", level: "amber" },
  AMBER_STRICT: { id: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", name: "TLP:AMBER+STRICT", level: "amber+strict" },
  RED: { id: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", name: "TLP:RED", level: "red" },
};

const TLP_1_0_IDS: Record<string, Tlp> = {
  "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "CLEAR", // TLP:WHITE
  "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "GREEN",
  "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "AMBER",
  "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "RED",
};

const FIXED: Record<string, Tlp> = {
  ...TLP_1_0_IDS,
  ...Object.fromEntries(Object.entries(TLP_2_0_MARKINGS).map(([tlp, m]) => [m.id, tlp as Tlp])),
};

const LEVEL_NAMES: Record<string, Tlp> = { white: "CLEAR", clear: "CLEAR", green: "GREEN", amber: "AMBER", "amber+strict": "AMBER_STRICT", red: "RED" };

/** What a marking definition means to the hub. */
export type MarkingMeaning = { kind: "tlp"; tlp: Tlp } | { kind: "statement" } | { kind: "unknown"; why: string };

/** The meaning of a marking-definition object, by its content. */
export function meaningOf(definition: Record<string, unknown>): MarkingMeaning {
  const fixed = typeof definition.id === "string" ? FIXED[definition.id] : undefined;
  if (fixed) return { kind: "tlp", tlp: fixed };
  const content = definition.definition as Record<string, unknown> | undefined;
  if (definition.definition_type === "tlp") {
    const level = typeof content?.tlp === "string" ? LEVEL_NAMES[content.tlp.toLowerCase()] : undefined;
    return level ? { kind: "tlp", tlp: level } : { kind: "unknown", why: "a tlp marking definition without a known level" };
  }
  if (definition.definition_type === "statement") return { kind: "statement" };
  const extension = (definition.extensions as Record<string, Record<string, unknown>> | undefined)?.[TLP_EXTENSION_ID];
  if (extension) {
    const level = typeof extension.tlp_2_0 === "string" ? LEVEL_NAMES[extension.tlp_2_0.toLowerCase()] : undefined;
    return level ? { kind: "tlp", tlp: level } : { kind: "unknown", why: "a TLP 2.0 marking definition without a known level" };
  }
  return { kind: "unknown", why: "neither a TLP nor a statement marking" };
}

/** The meaning of a marking referred to by id, from the fixed ids, the envelope, or what the owner holds. */
export type MarkingLookup = (id: string) => MarkingMeaning | undefined;

export type ObjectTlp = { ok: true; tlp: Tlp | null } | { ok: false; property: string; message: string };

/** Every marking reference of an object, with the property that holds it. */
export function markingRefsOf(object: Record<string, unknown>): { id: string; property: string }[] {
  const refs: { id: string; property: string }[] = [];
  if (Array.isArray(object.object_marking_refs)) {
    object.object_marking_refs.forEach((id, i) => refs.push({ id: String(id), property: `object_marking_refs[${i}]` }));
  }
  if (Array.isArray(object.granular_markings)) {
    object.granular_markings.forEach((g, i) => {
      const ref = (g as Record<string, unknown> | null)?.marking_ref;
      if (typeof ref === "string") refs.push({ id: ref, property: `granular_markings[${i}].marking_ref` });
    });
  }
  return refs;
}

/** The most restrictive TLP an object carries (null: no TLP marking), or the marking the hub cannot map. */
export function tlpOf(object: Record<string, unknown>, lookup: MarkingLookup): ObjectTlp {
  let tlp: Tlp | null = null;
  let unreadable: ObjectTlp | null = null;
  for (const ref of markingRefsOf(object)) {
    const meaning = FIXED[ref.id] ? ({ kind: "tlp", tlp: FIXED[ref.id]! } as const) : lookup(ref.id);
    if (!meaning) {
      unreadable ??= { ok: false, property: ref.property, message: `marking ${ref.id} is neither a TLP marking the hub knows nor defined in this envelope or held by this org` };
    } else if (meaning.kind === "unknown") {
      unreadable ??= { ok: false, property: ref.property, message: `marking ${ref.id} cannot be mapped: ${meaning.why}` };
    } else if (meaning.kind === "tlp" && (tlp === null || TLP_LEVELS.indexOf(meaning.tlp) > TLP_LEVELS.indexOf(tlp))) {
      tlp = meaning.tlp;
    }
  }
  if (unreadable && tlp !== "RED") return unreadable;
  return { ok: true, tlp };
}

/** The level of a TLP marking definition known by its fixed OASIS id (TLP 1.0 or 2.0). */
export const fixedTlpOf = (id: string): Tlp | undefined => FIXED[id];
