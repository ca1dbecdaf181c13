import type { EntityManager } from "@mikro-orm/postgresql";
import { query } from "../db/sql.js";
import type { AccountRegisteredPayload } from "./topics.js";

/**
 * Upserts `account.registered` payloads into `<schema>.account (id, provider, kind, jurisdiction,
 * status)`: the view of the account registry that a subgraph's projection keeps (resellers,
 * verification). The last payload of an account in the batch wins; an upsert may not touch a row twice.
 */
export async function upsertProjectedAccounts(em: EntityManager, schema: string, payloads: Iterable<AccountRegisteredPayload>): Promise<void> {
  const latest = new Map<string, AccountRegisteredPayload>();
  for (const p of payloads) latest.set(p.id, p);
  if (!latest.size) return;
  await query(
    em,
    `insert into ${schema}.account (id, provider, kind, jurisdiction, status)
     select a.id, a.provider, a.kind, a.holder_jurisdiction, a.status
       from jsonb_to_recordset($1::jsonb) as a(id uuid, provider text, kind text, holder_jurisdiction text, status text)
     on conflict (id) do update set kind = excluded.kind, jurisdiction = excluded.jurisdiction, status = excluded.status`,
    [JSON.stringify([...latest.values()].map(({ id, provider, kind, holder_jurisdiction, status }) => ({ id, provider, kind, holder_jurisdiction, status })))],
    `${schema}_account_upsert`,
  );
}
