import { Migration } from "@mikro-orm/migrations";

export class Migration20261129000500_match_budget extends Migration {
  override async up(): Promise<void> {
    // Today's spending of each org's matching budget, as a counter that one upsert checks and spends
    // (the audit trail stays the record of every call). Seeded from the trail's answered calls.
    this.addSql(`
      create table accounts.match_budget (
        org text not null,
        day date not null,
        used integer not null check (used >= 0),
        primary key (org, day)
      )`);
    this.addSql(`
      insert into accounts.match_budget (org, day, used)
      select org, (at at time zone 'UTC')::date, sum(identifiers) from accounts.match_audit where not refused group by 1, 2`);
  }
}
