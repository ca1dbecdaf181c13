import type { EntityManager } from "@mikro-orm/postgresql";
import { appendAuditLink, verifyAuditChain as walkChain, type AuditChainReport } from "../../src/audit/hash-chain.js";
import type { Viewer } from "../../src/auth/viewer.js";

/** What the verification audit trail records: every read, export, change, disclosure decision and purge. */
export const AUDIT_ACTIONS = [
  "RECORD_OPENED",
  "RECORD_READ",
  "RECORD_SEARCHED",
  "RECORD_UPDATED",
  "CHECK_ADDED",
  "STATUS_CHANGED",
  "ACCESS_EVENTS_RECORDED",
  "ACCESS_HISTORY_READ",
  "ACCOUNTS_BY_IP_READ",
  "DISCLOSURE_REQUESTED",
  "DISCLOSURE_DECIDED",
  "LEGAL_HOLD_PLACED",
  "LEGAL_HOLD_RELEASED",
  "EXEMPTION_GRANTED",
  "RECORDS_PURGED",
  "REPORT_EXPORTED",
  "KEYS_REWRAPPED",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

const SCHEMA = "verification";

export interface AuditEntry {
  /** Whose chain: the provider that holds the records the action touched. */
  org: string;
  action: AuditAction;
  recordId?: string | null;
  accountId?: string | null;
  /** Ids, counts and statuses only: never a personal value. */
  detail?: Record<string, string | number | boolean | null>;
}

/**
 * Appends one link to the provider's chain in the transaction `em` is in: call it inside
 * `em.transactional`, so that an action that cannot be audited fails.
 */
export function audit(em: EntityManager, viewer: Pick<Viewer, "org" | "sub">, entry: AuditEntry, at: Date): Promise<void> {
  return appendAuditLink(em, SCHEMA, { ...entry, actorOrg: viewer.org, actorSubject: viewer.sub, at });
}

export function verifyAuditChain(em: EntityManager, org: string): Promise<AuditChainReport> {
  return walkChain(em, SCHEMA, org);
}
