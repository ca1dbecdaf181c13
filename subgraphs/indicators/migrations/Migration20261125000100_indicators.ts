import { Migration } from "@mikro-orm/migrations";

export class Migration20261125000100_indicators extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table indicators.indicator (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        owner text not null,
        type text not null check (type in ('IPV4', 'IPV6', 'CIDR', 'DOMAIN', 'URL', 'EMAIL', 'MD5', 'SHA1', 'SHA256')),
        value text not null check (length(value) between 1 and 2048),
        tlp text not null check (tlp in ('CLEAR', 'GREEN', 'AMBER', 'AMBER_STRICT', 'RED')),
        confidence smallint not null check (confidence between 0 and 100),
        shared_with text[] not null default '{}',
        labels text[] not null default '{}',
        description text check (length(description) <= 4000),
        valid_from timestamptz not null,
        valid_until timestamptz check (valid_until is null or valid_until > valid_from),
        revoked boolean not null default false,
        created_at timestamptz not null default now(),
        modified_at timestamptz not null default now(),
        constraint indicator_owner_type_value unique (owner, type, value)
      )`);
    this.addSql(`create index indicator_value on indicators.indicator (value)`);
    this.addSql(`create index indicator_shared_with on indicators.indicator using gin (shared_with)`);
  }
}

export const indicatorMigrations = [{ name: "Migration20261125000100_indicators", class: Migration20261125000100_indicators }];
