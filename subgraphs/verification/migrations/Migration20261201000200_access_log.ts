import { Migration } from "@mikro-orm/migrations";

/**
 * The access log (§1(a)(ii)(D)): one row per access to, or administrative action on, an account, from
 * one IP address at one time. Range-partitioned by month on `at` (docs/performance.md, "The access
 * log"): a large provider writes tens of millions of rows a month, and monthly partitions keep each
 * index a month deep, let a time window read only its months, and let vacuum, reindex and an emptied
 * month's drop work a month at a time. Partitions are made on demand by the service for the months a
 * batch touches; the default partition holds anything else, and stays empty in normal running.
 */
export class Migration20261201000200_access_log extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table verification.access_event (
        owner text not null,
        account_id uuid not null,
        ip inet not null,
        at timestamptz not null,
        action text not null check (action in ('ACCESS', 'ADMIN'))
      ) partition by range (at)`);
    // An account's history, newest first, and the log's key: a retried batch stores nothing twice
    // (a unique index on a partitioned table must hold the partition key; this one does).
    this.addSql(`create unique index access_event_history on verification.access_event (owner, account_id, at desc, ip desc, action desc)`);
    // Addresses and networks: `ip <<= network` is a btree range on (owner, ip), then the window on at.
    this.addSql(`create index access_event_ip on verification.access_event (owner, ip, at)`);
    this.addSql(`create table verification.access_event_default partition of verification.access_event default`);
  }
}
