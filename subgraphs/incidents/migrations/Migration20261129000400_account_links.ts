import { Migration } from "@mikro-orm/migrations";

/**
 * Incidents link accounts of the accounts subgraph (`account--<uuid>`) instead of keeping account ids
 * as given, and see which accounts exist and who may see them through a projection of the account
 * events, as they do for indicators.
 */
export class Migration20261129000400_account_links extends Migration {
  override async up(): Promise<void> {
    // The links become uuids. A stored id in the form `account--<uuid>` keeps its uuid (in the order
    // given, once); anything else could never name an account of the hub and is dropped.
    this.addSql(`alter table incidents.incident add column account_uuids uuid[] not null default '{}'`);
    this.addSql(`
      update incidents.incident set account_uuids = array(
        select lower(substr(u.id, 10))::uuid from unnest(account_ids) with ordinality as u(id, n)
         where u.id ~* '^account--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
         group by 1 order by min(u.n))
       where cardinality(account_ids) > 0`);
    this.addSql(`alter table incidents.incident drop column account_ids`);
    this.addSql(`alter table incidents.incident rename column account_uuids to account_ids`);
    this.addSql(`create index incident_account_ids on incidents.incident using gin (account_ids)`);
    // Accounts as their providers registered them: which exist, and whose they are.
    this.addSql(`create table incidents.account_marking (id uuid primary key, provider text not null)`);
    // Flags on accounts: whoever may see a flag in force on an account may see the account. The same
    // columns as the accounts subgraph's flags, so that one rule (src/auth/account-visibility.ts) reads both.
    this.addSql(`
      create table incidents.account_flag_marking (
        id uuid primary key,
        account_id uuid not null,
        provider text not null,
        owner text not null,
        tlp text not null,
        shared_with text[] not null default '{}',
        status text not null,
        expires_at timestamptz
      )`);
    this.addSql(`alter table incidents.account_flag_marking add column audience text[] generated always as (shared_with || provider) stored`);
    this.addSql(`create index account_flag_marking_account on incidents.account_flag_marking (account_id)`);
  }
}
