import type { EntityManager } from "@mikro-orm/postgresql";
import type { Viewer } from "../../src/auth/viewer.js";
import type { RecordKeys } from "../../src/crypto/record-keys.js";
import { query } from "../../src/db/sql.js";
import { audit } from "./audit.trail.js";
import { RecordSealer } from "./record.crypto.js";
import { recordId } from "./record.row.js";

/** Records rewrapped per transaction: each batch locks only its own rows, and is audited as it commits. */
export const REWRAP_BATCH = 500;

/** Who rewraps in the audit trail: the operator's command, not a member. */
export const REWRAP_ACTOR = { org: "hub", sub: "rewrap-record-keys" } as const;

export interface RewrapReport {
  /** The master key every data key is now wrapped by. */
  currentKeyId: string;
  rewrapped: number;
  /** Rewrapped per provider (the owner of the records). */
  byProvider: Record<string, number>;
  /** Records (customer-record--<uuid>, as the API names them) whose data key could not be unwrapped (its master key not configured, or the wrapped key altered): left as they were. */
  failed: string[];
  /** Records still wrapped by another master key after the run: 0 once the old keys may be dropped. */
  remaining: number;
}

interface KeyRow {
  id: string;
  owner: string;
  master_key_id: string;
  data_key: Buffer;
}

/**
 * Master-key rotation: every record's data key wrapped by the current master key (the first of
 * RECORD_MASTER_KEYS), in batches. Only `master_key_id` and `data_key` change: the sealed columns stay
 * byte for byte as they were, since the data key inside the wrapping is the same. Each batch is one
 * transaction with one KEYS_REWRAPPED link per provider it touched. Safe to run while the hub serves
 * (rows are locked batch by batch) and to run again: a record already under the current key is skipped.
 */
export async function rewrapDataKeys(
  em: EntityManager,
  keys: RecordKeys,
  options: { batch?: number; actor?: Pick<Viewer, "org" | "sub">; clock?: () => Date } = {},
): Promise<RewrapReport> {
  const batch = options.batch ?? REWRAP_BATCH;
  const actor = options.actor ?? REWRAP_ACTOR;
  const clock = options.clock ?? (() => new Date());
  const current = keys.master.currentKeyId;
  const report: RewrapReport = { currentKeyId: current, rewrapped: 0, byProvider: {}, failed: [], remaining: 0 };
  let after = "00000000-0000-0000-0000-000000000000";
  for (;;) {
    const seen = await em.fork().transactional(async (tx) => {
      const rows = await query<KeyRow>(
        tx,
        `select id, owner, master_key_id, data_key from verification.customer_record
          where master_key_id <> $1 and id > $2 order by id limit $3 for update`,
        [current, after, batch],
        "rewrap_batch",
      );
      const done: { id: string; owner: string; keyId: string; wrapped: Buffer; from: string }[] = [];
      for (const row of rows) {
        try {
          const { keyId, wrapped } = RecordSealer.rewrap(keys, row);
          done.push({ id: row.id, owner: row.owner, keyId, wrapped, from: row.master_key_id });
        } catch {
          // The record keeps its key as it is; the operator hears of it by id (no key or value in the report).
          report.failed.push(recordId(row.id));
        }
      }
      if (done.length) {
        await query(
          tx,
          `update verification.customer_record r set master_key_id = u.key_id, data_key = u.wrapped
             from unnest($1::uuid[], $2::text[], $3::bytea[]) as u(id, key_id, wrapped)
            where r.id = u.id`,
          [done.map((d) => d.id), done.map((d) => d.keyId), done.map((d) => d.wrapped)],
          "rewrap_update",
        );
        const now = clock();
        const byOwner = new Map<string, { count: number; from: Set<string> }>();
        for (const d of done) {
          const o = byOwner.get(d.owner) ?? { count: 0, from: new Set<string>() };
          o.count++;
          o.from.add(d.from);
          byOwner.set(d.owner, o);
        }
        for (const [owner, { count, from }] of byOwner) {
          await audit(tx, actor, { org: owner, action: "KEYS_REWRAPPED", detail: { records: count, toKey: current, fromKeys: [...from].sort().join(",") } }, now);
          report.byProvider[owner] = (report.byProvider[owner] ?? 0) + count;
        }
        report.rewrapped += done.length;
      }
      return rows;
    });
    if (seen.length) after = seen.at(-1)!.id;
    if (seen.length < batch) break;
  }
  const [left] = await query<{ n: number }>(em.fork(), "select count(*)::int as n from verification.customer_record where master_key_id <> $1", [current], "rewrap_remaining");
  report.remaining = left!.n;
  return report;
}
