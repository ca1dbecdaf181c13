import { Migration } from "@mikro-orm/migrations";

/**
 * Reseller links, the closure of the active ones, and this subgraph's projection of the accounts and
 * flags it needs (from the account events), so that no answer reads another subgraph's tables.
 */
export class Migration20261130000100_resellers extends Migration {
  override async up(): Promise<void> {
    // Accounts as their providers registered them: which exist, whose, what kind, where the holder is.
    this.addSql(`
      create table resellers.account (
        id uuid primary key,
        provider text not null,
        kind text not null,
        jurisdiction text not null,
        status text not null
      )`);
    this.addSql(`create index account_jurisdiction on resellers.account (jurisdiction)`);
    // Flags on accounts, as their events leave them: an account is flagged while one is ACTIVE and not expired.
    this.addSql(`
      create table resellers.flag (
        id uuid primary key,
        account_id uuid not null,
        category text not null,
        status text not null,
        expires_at timestamptz
      )`);
    this.addSql(`create index flag_active_account on resellers.flag (account_id) where status = 'ACTIVE'`);
    this.addSql(`
      create table resellers.link (
        seq bigint generated always as identity unique,
        id uuid primary key default gen_random_uuid(),
        parent_id uuid not null,
        child_id uuid not null,
        since timestamptz not null,
        until timestamptz,
        recorded_by text not null,
        operator_org text,
        created_at timestamptz not null default now(),
        constraint link_not_self check (parent_id <> child_id),
        constraint link_until_after_since check (until is null or until >= since)
      )`);
    // At most one active parent per child; ending a link sets until, so the next may be recorded.
    this.addSql(`create unique index link_active_child on resellers.link (child_id) where until is null`);
    this.addSql(`create index link_active_parent on resellers.link (parent_id) where until is null`);
    this.addSql(`create index link_active_operator on resellers.link (operator_org, parent_id) where until is null and operator_org is not null`);
    this.addSql(`create index link_child_history on resellers.link (child_id, seq)`);
    // The closure of the active links: one row per (ancestor, descendant) pair at any distance, self
    // pairs left out. A chain is one index range on (descendant, depth); a subtree one on the key.
    this.addSql(`
      create table resellers.ancestry (
        ancestor uuid not null,
        descendant uuid not null,
        depth smallint not null check (depth >= 1),
        primary key (ancestor, descendant)
      )`);
    this.addSql(`create index ancestry_descendant on resellers.ancestry (descendant, depth)`);
    this.addSql(`create table resellers.projection_cursor (name text primary key, seq bigint not null)`);
  }
}
