import type { EntityManager } from "@mikro-orm/postgresql";
import { query } from "../../src/db/sql.js";
import type { Logger } from "../../src/logger.js";

/**
 * The access log's monthly partitions, made on demand for the months a batch touches, before the
 * batch's own transaction: `create table … partition of` locks the whole log (ACCESS EXCLUSIVE on the
 * parent) until its transaction ends, so it runs in a short one of its own, and only once per month
 * and process. Two processes making the same month at once queue on an advisory lock, and the second
 * finds the table there (`if not exists`). Should a month fail to be made (the default partition
 * already holding rows of it, which a partition for that month would have to take over), its rows go
 * to the default partition, and the batch is stored all the same.
 */

const PARTITION_LOCK = "verification.access_event partitions";
/** Months known to have their partition, in this process: `YYYY-MM`. */
const made = new Set<string>();

/** `YYYY-MM` of each month the times fall in, in UTC: partitions are bounded at midnight UTC on the first of each month. */
export function monthsOf(times: Iterable<Date>): string[] {
  const keys = new Set<number>();
  for (const at of times) keys.add(at.getUTCFullYear() * 12 + at.getUTCMonth());
  return [...keys].map((k) => `${String(Math.floor(k / 12)).padStart(4, "0")}-${String((k % 12) + 1).padStart(2, "0")}`);
}

export function partitionFor(month: string): { name: string; from: string; to: string } {
  const [y, m] = month.split("-").map(Number) as [number, number];
  const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, "0")}`;
  return { name: `access_event_${y}_${String(m).padStart(2, "0")}`, from: `${month}-01 00:00:00+00`, to: `${next}-01 00:00:00+00` };
}

export async function ensureMonthPartitions(em: EntityManager, months: Iterable<string>, log: Logger): Promise<void> {
  const wanted = [...new Set(months)].filter((m) => !made.has(m) && /^\d{4}-\d{2}$/.test(m));
  if (!wanted.length) return;
  const existing = await query<{ name: string }>(
    em,
    `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'verification.access_event'::regclass`,
    [],
    "access_event_partitions",
  );
  const names = new Set(existing.map((r) => r.name));
  for (const month of wanted) {
    const p = partitionFor(month);
    if (!names.has(p.name)) {
      try {
        await em.fork().transactional(async (tx) => {
          await query(tx, "select pg_advisory_xact_lock(hashtext($1))", [PARTITION_LOCK]);
          // The name and bounds are made here from digits only: nothing of the input reaches the text.
          await query(tx, `create table if not exists verification.${p.name} partition of verification.access_event for values from ('${p.from}') to ('${p.to}')`);
        });
      } catch (err) {
        log.warn({ month, err: (err as Error).message }, "access log: the month's partition could not be made; its events go to the default partition");
        continue;
      }
    }
    made.add(month);
  }
}
