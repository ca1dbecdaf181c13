import { asDate } from "../../src/db/sql.js";
import { parseStixId } from "../../src/graphql/ids.js";
import type { StoredStatus } from "./record.enums.js";
import type { ValidContact, ValidParty, ValidPayment } from "./record.validation.js";

/** A customer record's id as clients see it: customer-record--<uuid>. */
export const RECORD_ID_PREFIX = "customer-record";
export const recordId = (uuid: string) => `${RECORD_ID_PREFIX}--${uuid}`;
export const parseRecordId = (id: unknown): string | null => parseStixId(RECORD_ID_PREFIX, id);
export const accountId = (uuid: string) => `account--${uuid}`;

/** verification.customer_record as pg returns it. */
export interface RecordRow {
  id: string;
  owner: string;
  account_id: string;
  product: string | null;
  status: StoredStatus;
  us_person: boolean;
  us_person_reason: string;
  customer_country: string;
  foreign_owner_countries: string[];
  master_key_id: string;
  data_key: Buffer;
  customer: Buffer;
  beneficial_owners: Buffer;
  payments: Buffer;
  contacts: Buffer;
  opened_at: Date;
  status_changed_at: Date;
  verified_at: Date | null;
  reverify_due_at: Date | null;
  closed_at: Date | null;
  last_access_at: Date | null;
  retain_until: Date | null;
  legal_hold: boolean;
  version: number;
  /** The current verification round (see the migration that added it). */
  round: number;
}

/** verification.verification_check, its expiry as text (a calendar date, not an instant). */
export interface CheckRow {
  id: string;
  record_id: string;
  subject: string;
  method: "DOCUMENTARY" | "NON_DOCUMENTARY";
  document_type: string | null;
  issuing_country: string | null;
  expires_on: string | null;
  source: string | null;
  result: "PASS" | "FAIL" | "INCONCLUSIVE";
  sealed: Buffer;
  checked_by: string;
  checked_at: Date;
  created_at: Date;
}

export const CHECK_COLUMNS = `id, record_id, subject, method, document_type, issuing_country, expires_on::text as expires_on, source, result, sealed, checked_by, checked_at, created_at`;

/** What the sealed columns hold (JSON inside the ciphertext). */
export type SealedParty = Omit<ValidParty, "country">;
export interface SealedContacts {
  emails: { value: string; verifiedAt: string | null }[];
  phones: { value: string; verifiedAt: string | null }[];
}
export interface SealedCheck {
  documentNumber: string | null;
  discrepancy: string | null;
  resolution: string | null;
}
export type SealedPayment = ValidPayment;

export const sealedContacts = (emails: ValidContact[], phones: ValidContact[]): SealedContacts => ({
  emails: emails.map((c) => ({ value: c.value, verifiedAt: c.verifiedAt?.toISOString() ?? null })),
  phones: phones.map((c) => ({ value: c.value, verifiedAt: c.verifiedAt?.toISOString() ?? null })),
});

export const sealedParty = ({ country: _country, ...party }: ValidParty): SealedParty => party;

const RECORD_TIMES = ["opened_at", "status_changed_at", "verified_at", "reverify_due_at", "closed_at", "last_access_at", "retain_until"] as const;

/** A row as the ORM's connection brings it (timestamps as text) with its times as Dates. */
export function recordRow(raw: RecordRow): RecordRow {
  const row = { ...raw };
  for (const k of RECORD_TIMES) if (row[k] !== null) (row as Record<string, unknown>)[k] = asDate(row[k] as Date | string);
  return row;
}

export const checkRow = (raw: CheckRow): CheckRow => ({ ...raw, checked_at: asDate(raw.checked_at), created_at: asDate(raw.created_at) });

/** verification.status_change; the reason sealed, bound to the row's seq. */
export interface StatusChangeRow {
  seq: number;
  from_status: StoredStatus | null;
  to_status: StoredStatus;
  reason: Buffer;
  by_org: string;
  by_subject: string;
  at: Date;
}
