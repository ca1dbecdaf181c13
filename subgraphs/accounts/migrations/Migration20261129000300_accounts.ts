import { Migration } from "@mikro-orm/migrations";

export class Migration20261129000300_accounts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table accounts.account (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        provider text not null,
        external_ref text not null check (length(external_ref) between 1 and 200),
        kind text not null check (kind in ('STANDARD', 'RESELLER', 'TRIAL')),
        holder_type text not null check (holder_type in ('INDIVIDUAL', 'ENTITY')),
        holder_jurisdiction text not null check (holder_jurisdiction ~ '^[A-Z]{2}$'),
        us_person boolean not null,
        status text not null check (status in ('PENDING_VERIFICATION', 'ACTIVE', 'RESTRICTED', 'CLOSED')),
        opened_at timestamptz not null,
        closed_at timestamptz check (closed_at is null or closed_at >= opened_at),
        created_at timestamptz not null default now(),
        modified_at timestamptz not null default now(),
        constraint account_provider_external_ref unique (provider, external_ref)
      )`);
    // Only keyed hashes of identifiers, never the values: HMAC-SHA-256 under the key named by key_id.
    this.addSql(`
      create table accounts.account_identifier (
        account_id uuid not null references accounts.account (id) on delete cascade,
        type text not null check (type in ('EMAIL', 'PHONE', 'PAYMENT_CARD', 'BANK_ACCOUNT', 'CRYPTO_WALLET', 'NATIONAL_ID', 'DOMAIN')),
        key_id text not null,
        hash bytea not null check (length(hash) = 32),
        primary key (account_id, type, key_id, hash)
      )`);
    // Matching looks a hash up among every provider's accounts.
    this.addSql(`create index account_identifier_hash on accounts.account_identifier (hash)`);
    this.addSql(`
      create table accounts.flag (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        account_id uuid not null references accounts.account (id),
        provider text not null,
        owner text not null,
        category text not null check (category in ('MALWARE_HOSTING', 'COMMAND_AND_CONTROL', 'PHISHING', 'FRAUD', 'CRYPTOJACKING',
          'DDOS', 'SPAM', 'RESALE_ABUSE', 'SANCTIONS_EVASION', 'OTHER')),
        confidence smallint not null check (confidence between 0 and 100),
        tlp text not null check (tlp in ('CLEAR', 'GREEN', 'AMBER', 'AMBER_STRICT', 'RED')),
        shared_with text[] not null default '{}',
        indicator_ids uuid[] not null default '{}',
        incident_ids uuid[] not null default '{}',
        status text not null default 'ACTIVE' check (status in ('ACTIVE', 'CLEARED', 'DISPUTED')),
        expires_at timestamptz,
        cleared_reason text check (length(cleared_reason) between 1 and 2000),
        disputed_reason text check (length(disputed_reason) between 1 and 2000),
        created_at timestamptz not null default now(),
        modified_at timestamptz not null default now()
      )`);
    // Who may see an AMBER or RED flag besides its owner: the orgs it is shared with and the provider
    // holding the account (who may dispute it). The TLP rule reads this one column.
    this.addSql(`alter table accounts.flag add column audience text[] generated always as (shared_with || provider) stored`);
    this.addSql(`create index flag_account on accounts.flag (account_id)`);
    this.addSql(`create index flag_audience on accounts.flag using gin (audience)`);
    // Every matchIdentifiers call: who asked, how many identifiers, how many hits; never the values.
    this.addSql(`
      create table accounts.match_audit (
        id bigint generated always as identity primary key,
        org text not null,
        sub text not null,
        request_id text not null,
        identifiers integer not null check (identifiers >= 0),
        hits integer not null check (hits >= 0),
        at timestamptz not null default now()
      )`);
    this.addSql(`create index match_audit_org_at on accounts.match_audit (org, at)`);
  }
}

export const accountMigrations = [{ name: "Migration20261129000300_accounts", class: Migration20261129000300_accounts }];
