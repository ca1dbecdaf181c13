import type { HolderType } from "./record.enums.js";

/**
 * US-person classification (EO 13984 §5(k) as the hub applies it to a customer or beneficial owner):
 * an individual is a US person as a US citizen or a lawful permanent resident; an entity as organised
 * under US law (foreign branches included). Everyone else is foreign and must be verified. The reason
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
}

export const US = "US";

export const US_PERSON_REASONS = {
  CITIZEN: "individual: a citizen of the United States",
  PERMANENT_RESIDENT: "individual: a lawful permanent resident of the United States",
  US_ENTITY: "entity: organised under the laws of the United States",
  FOREIGN_INDIVIDUAL: "individual: foreign (neither a US citizen nor a US permanent resident)",
  FOREIGN_ENTITY: "entity: foreign (organised outside the United States)",
} as const;

export function classifyUsPerson(party: Classifiable): UsPersonClass {
  if (party.kind === "ENTITY") {
    return party.organizedIn === US ? { usPerson: true, reason: US_PERSON_REASONS.US_ENTITY } : { usPerson: false, reason: US_PERSON_REASONS.FOREIGN_ENTITY };
  }
  if (party.citizenship?.includes(US)) return { usPerson: true, reason: US_PERSON_REASONS.CITIZEN };
  if (party.permanentResidence === US) return { usPerson: true, reason: US_PERSON_REASONS.PERMANENT_RESIDENT };
  return { usPerson: false, reason: US_PERSON_REASONS.FOREIGN_INDIVIDUAL };
}
