import { Migration } from "@mikro-orm/migrations";

export class Migration20261129000400_match_audit_refused extends Migration {
  override async up(): Promise<void> {
    // A call refused for want of budget is in the trail too (repeated refusals are what an operator
    // looks for), but spends nothing: the daily budget sums only the calls answered.
    this.addSql(`alter table accounts.match_audit add column refused boolean not null default false`);
  }
}

export const matchAuditMigrations = [{ name: "Migration20261129000400_match_audit_refused", class: Migration20261129000400_match_audit_refused }];
