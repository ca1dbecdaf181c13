import type { HolderType } from "./record.enums.js";

/**
 * US-person classification (EO 13984 §5(k) as the hub applies it to a customer or beneficial owner):
 * an individual is a US person as a US citizen or a lawful permanent resident; an entity as organised
 * under US law (foreign branches included); and either as "any person in the United States" (located
 * in the US), as the Order reads and as the accounts subgraph's `usPerson` has it. Everyone else is
 * foreign and must be verified. The reason
 * states which rule decided, never a personal value (no country but the US is named).
 */
export interface UsPersonClass {
  usPerson: boolean;
  reason: string;
}

export interface Classifiable {
  kind: HolderType;
  citizenship?: readonly string[] | null;
  permanentResidence?: string | null;
  organizedIn?: string | null;
  locatedIn?: string | null;
}

export const US = "US";

export const US_PERSON_REASONS = {
  CITIZEN: "individual: a citizen of the United States",
  PERMANENT_RESIDENT: "individual: a lawful permanent resident of the United States",
  US_ENTITY: "entity: organised under the laws of the United States",
  IN_US: "located in the United States",
  FOREIGN_INDIVIDUAL: "individual: foreign (neither a US citizen nor a US permanent resident, and located outside the United States)",
  FOREIGN_ENTITY: "entity: foreign (organised and located outside the United States)",
} as const;

export function classifyUsPerson(party: Classifiable): UsPersonClass {
  if (party.kind === "ENTITY") {
    if (party.organizedIn === US) return { usPerson: true, reason: US_PERSON_REASONS.US_ENTITY };
  } else {
    if (party.citizenship?.includes(US)) return { usPerson: true, reason: US_PERSON_REASONS.CITIZEN };
    if (party.permanentResidence === US) return { usPerson: true, reason: US_PERSON_REASONS.PERMANENT_RESIDENT };
  }
  if (party.locatedIn === US) return { usPerson: true, reason: US_PERSON_REASONS.IN_US };
  return { usPerson: false, reason: party.kind === "ENTITY" ? US_PERSON_REASONS.FOREIGN_ENTITY : US_PERSON_REASONS.FOREIGN_INDIVIDUAL };
}
