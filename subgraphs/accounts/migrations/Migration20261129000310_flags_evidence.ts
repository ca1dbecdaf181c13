import { Migration } from "@mikro-orm/migrations";

export class Migration20261129000310_flags_evidence extends Migration {
  override async up(): Promise<void> {
    // One standing flag per org, account and category: flagging again updates it (an identical flag
    // changes nothing and emits nothing), and two concurrent flags cannot make two.
    this.addSql(`create unique index flag_standing on accounts.flag (account_id, owner, category) where status <> 'CLEARED'`);
    // Which indicators and incidents exist and who may see them, from their subgraphs' events: a flag's
    // evidence must be visible to the flagging org, and on another provider's account, to that provider.
    this.addSql(`
      create table accounts.evidence_marking (
        kind text not null check (kind in ('indicator', 'incident')),
        id uuid not null,
        owner text not null,
        tlp text not null,
        audience text[] not null default '{}',
        primary key (kind, id)
      )`);
    this.addSql(`create table accounts.projection_cursor (name text primary key, seq bigint not null)`);
  }
}
