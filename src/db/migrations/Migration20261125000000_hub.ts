import { Migration } from "@mikro-orm/migrations";

/** The hub schema: the event log (transactional outbox), its retention mark, the org directory, audit. */
export class Migration20261125000000_hub extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table hub.event (
        seq bigint generated always as identity primary key,
        topic text not null,
        owner_org text not null,
        tlp text not null check (tlp in ('CLEAR', 'GREEN', 'AMBER', 'AMBER_STRICT', 'RED')),
        shared_with text[] not null default '{}',
        payload jsonb not null,
        created_at timestamptz not null default now()
      )`);
    this.addSql(`create index event_topic_seq on hub.event (topic, seq)`);
    this.addSql(`create index event_created_at on hub.event (created_at)`);
    this.addSql(`
      create table hub.event_retention (
        id boolean primary key default true check (id),
        pruned_through bigint not null default 0
      )`);
    this.addSql(`insert into hub.event_retention (id, pruned_through) values (true, 0)`);
    this.addSql(`
      create table hub.organization (
        id text primary key check (id ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
        name text not null check (length(name) between 1 and 200),
        kind text not null check (kind in ('PROVIDER', 'RESELLER', 'AGENCY', 'OPERATOR')),
        provisioned_by text not null check (provisioned_by in ('OPERATOR', 'TOKEN')),
        created_at timestamptz not null default now()
      )`);
    this.addSql(`
      create table hub.audit (
        id bigint generated always as identity primary key,
        at timestamptz not null default now(),
        actor_org text not null,
        actor_sub text not null,
        action text not null,
        target text not null,
        detail jsonb not null default '{}'
      )`);
    this.addSql(`create index audit_target on hub.audit (target, at)`);
  }
}

export const hubMigrations = [{ name: "Migration20261125000000_hub", class: Migration20261125000000_hub }];
