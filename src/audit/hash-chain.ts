import { createHash } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { asDate, query } from "../db/sql.js";

/**
 * An append-only audit trail kept as a hash chain, one chain per organisation, in a subgraph's own
 * schema (tables `audit_trail` and `audit_head`, see the verification migration). Each link's hash
 * covers its content and the previous link's hash, so altering, removing or reordering a link breaks
 * every later one; the head row also holds the last link, so cutting off the tail shows too.
 *
 * A link is written in the transaction of the action it records: if the link cannot be written the
 * action fails with it. Links of one chain are serialised by the head row's lock, held to commit.
 */

/** What a link says; `detail` holds ids, counts and statuses, never a personal value. */
export interface AuditLink {
  /** Whose chain: the organisation whose records the action touched. */
  org: string;
  actorOrg: string;
  actorSubject: string;
  action: string;
  recordId?: string | null;
  accountId?: string | null;
  detail?: Record<string, string | number | boolean | null>;
  at: Date;
}

export interface AuditChainReport {
  ok: boolean;
  checked: number;
  /** The first link that does not hold (`seq N`), or what is missing at the end. */
  firstBroken: string | null;
}

const GENESIS = Buffer.alloc(32);
const PAGE = 5000;

/** Sorted keys: jsonb does not keep the order the writer used, and the hash must not depend on it. */
function canonicalDetail(detail: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(Object.keys(detail).sort().map((k) => [k, detail[k]])));
}

function linkHash(prev: Buffer, seq: number, link: AuditLink): Buffer {
  const body = JSON.stringify([
    link.org,
    seq,
    link.at.toISOString(),
    link.actorOrg,
    link.actorSubject,
    link.action,
    link.recordId ?? null,
    link.accountId ?? null,
    canonicalDetail(link.detail ?? {}),
  ]);
  return createHash("sha256").update(prev).update(body, "utf8").digest();
}

/** Appends one link to `org`'s chain in `schema`, inside the transaction `em` is in. */
export async function appendAuditLink(em: EntityManager, schema: string, link: AuditLink): Promise<void> {
  if (!em.getTransactionContext()) throw new Error("an audit link must be written in the transaction of what it records");
  await query(em, `insert into ${schema}.audit_head (org, seq, hash) values ($1, 0, $2) on conflict (org) do nothing`, [link.org, GENESIS], `${schema}_audit_head_init`);
  const [head] = await query<{ seq: string; hash: Buffer }>(em, `select seq, hash from ${schema}.audit_head where org = $1 for update`, [link.org], `${schema}_audit_head_lock`);
  const seq = Number(head!.seq) + 1;
  const hash = linkHash(head!.hash, seq, link);
  await query(
    em,
    `insert into ${schema}.audit_trail (org, seq, at, actor_org, actor_subject, action, record_id, account_id, detail, prev_hash, hash)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11)`,
    [link.org, seq, link.at, link.actorOrg, link.actorSubject, link.action, link.recordId ?? null, link.accountId ?? null, JSON.stringify(link.detail ?? {}), head!.hash, hash],
    `${schema}_audit_append`,
  );
  await query(em, `update ${schema}.audit_head set seq = $2, hash = $3 where org = $1`, [link.org, seq, hash], `${schema}_audit_head_move`);
}

/** A link as `audit_trail` holds it (times as the ORM's connection brings them: text). */
export interface AuditLinkRow {
  seq: string;
  at: Date | string;
  actor_org: string;
  actor_subject: string;
  action: string;
  record_id: string | null;
  account_id: string | null;
  detail: Record<string, string | number | boolean | null>;
  prev_hash: Buffer;
  hash: Buffer;
}

/** Walks `org`'s chain from its first link and reports the first one that does not hold. */
export async function verifyAuditChain(em: EntityManager, schema: string, org: string): Promise<AuditChainReport> {
  let prev: Buffer = GENESIS;
  let expected = 1;
  let checked = 0;
  for (;;) {
    const rows = await query<AuditLinkRow>(
      em,
      `select seq, at, actor_org, actor_subject, action, record_id, account_id, detail, prev_hash, hash
         from ${schema}.audit_trail where org = $1 and seq >= $2 order by seq limit $3`,
      [org, expected, PAGE],
      `${schema}_audit_walk`,
    );
    for (const row of rows) {
      const seq = Number(row.seq);
      if (seq !== expected) return { ok: false, checked, firstBroken: `seq ${expected} (missing)` };
      const hash = linkHash(prev, seq, {
        org,
        actorOrg: row.actor_org,
        actorSubject: row.actor_subject,
        action: row.action,
        recordId: row.record_id,
        accountId: row.account_id,
        detail: row.detail,
        at: asDate(row.at),
      });
      if (!row.prev_hash.equals(prev) || !row.hash.equals(hash)) return { ok: false, checked, firstBroken: `seq ${seq}` };
      prev = row.hash;
      expected = seq + 1;
      checked++;
    }
    if (rows.length < PAGE) break;
  }
  const [head] = await query<{ seq: string; hash: Buffer }>(em, `select seq, hash from ${schema}.audit_head where org = $1`, [org], `${schema}_audit_head_read`);
  if (head && (Number(head.seq) !== expected - 1 || !head.hash.equals(prev))) {
    return { ok: false, checked, firstBroken: `seq ${expected} (missing: the chain ends before its head, seq ${head.seq})` };
  }
  return { ok: true, checked, firstBroken: null };
}
