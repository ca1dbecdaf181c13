import { registerEnumType } from "type-graphql";

/** The closed vocabularies of a customer identification record, as stored and as GraphQL enums. */

/** The same two values as the accounts subgraph's HolderType: one enum of the supergraph. */
export const HOLDER_TYPES = ["INDIVIDUAL", "ENTITY"] as const;
export type HolderType = (typeof HOLDER_TYPES)[number];

export const PAYMENT_TYPES = ["CARD", "BANK_ACCOUNT", "VIRTUAL_CURRENCY", "OTHER"] as const;
export type PaymentType = (typeof PAYMENT_TYPES)[number];

export const CHECK_METHODS = ["DOCUMENTARY", "NON_DOCUMENTARY"] as const;
export type CheckMethod = (typeof CHECK_METHODS)[number];

export const CHECK_RESULTS = ["PASS", "FAIL", "INCONCLUSIVE"] as const;
export type CheckResult = (typeof CHECK_RESULTS)[number];

export const CONTACT_CHANNELS = ["EMAIL", "PHONE"] as const;
export type ContactChannel = (typeof CONTACT_CHANNELS)[number];

/** What a record's status can be; EXEMPT is never stored, only reported for an account an exemption covers. */
export const VERIFICATION_STATUSES = ["PENDING", "VERIFIED", "UNVERIFIED", "FAILED", "CLOSED", "EXEMPT"] as const;
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];
export type StoredStatus = Exclude<VerificationStatus, "EXEMPT">;

/** The exact-match lookups the blind index serves. */
export const LOOKUP_TYPES = ["NATIONAL_ID", "EMAIL", "PHONE", "CARD"] as const;
export type LookupType = (typeof LOOKUP_TYPES)[number];

const asEnum = <T extends string>(values: readonly T[]) => Object.fromEntries(values.map((v) => [v, v])) as { [K in T]: K };

export const HolderTypeEnum = asEnum(HOLDER_TYPES);
export const PaymentTypeEnum = asEnum(PAYMENT_TYPES);
export const CheckMethodEnum = asEnum(CHECK_METHODS);
export const CheckResultEnum = asEnum(CHECK_RESULTS);
export const ContactChannelEnum = asEnum(CONTACT_CHANNELS);
export const VerificationStatusEnum = asEnum(VERIFICATION_STATUSES);
export const LookupTypeEnum = asEnum(LOOKUP_TYPES);

registerEnumType(HolderTypeEnum, { name: "HolderType" });
registerEnumType(PaymentTypeEnum, { name: "PaymentType", description: "A means of payment (EO 13984 §1(a)(ii)(B))" });
registerEnumType(CheckMethodEnum, { name: "VerificationMethod", description: "How an identity was verified: from a document, or from another source" });
registerEnumType(CheckResultEnum, { name: "VerificationResult" });
registerEnumType(ContactChannelEnum, { name: "ContactChannel" });
registerEnumType(VerificationStatusEnum, {
  name: "VerificationStatus",
  description:
    "PENDING → VERIFIED | UNVERIFIED | FAILED | CLOSED; UNVERIFIED (restricted use) → VERIFIED | FAILED | CLOSED; VERIFIED → PENDING (re-verification) | CLOSED; FAILED → CLOSED. EXEMPT: an exemption covers the account (never set by hand)",
});
registerEnumType(LookupTypeEnum, { name: "RecordLookupType", description: "What an exact-match lookup of records compares: CARD is a payment card number" });
