import { Migration } from "@mikro-orm/migrations";

/**
 * The STIX store. `stix_object` keeps every version of every STIX object a member org sent (any SDO,
 * SRO, SCO, marking or extension), verbatim, per owner: two orgs forwarding the same report each hold
 * their own copy under their own TLP. `indicator` becomes the projection of the newest version of each
 * indicator object (the hub's own published indicators included), with the pattern verbatim and the
 * observables it names in `observable`, where lookups find them. `import_job` is the status resource
 * of an import, polled while a large one runs, with `import_outcome` what became of each object.
 */
export class Migration20261129000100_stix_store extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table indicators.stix_object (
        seq bigint generated always as identity primary key,
        owner text not null,
        id text not null check (length(id) <= 300),
        type text not null,
        -- modified, else created, as sent; '' for objects without either (cyber observables)
        version text not null,
        -- the version as a fixed-width UTC timestamp with nine fractional digits: ordered as text
        version_key text not null,
        spec_version text not null,
        tlp text not null check (tlp in ('CLEAR', 'GREEN', 'AMBER', 'AMBER_STRICT', 'RED')),
        shared_with text[] not null default '{}',
        -- whether the object carries a TLP marking of its own; when not, exports add the marking of tlp
        tlp_marked boolean not null default false,
        revoked boolean not null default false,
        object jsonb not null,
        date_added timestamptz not null default clock_timestamp(),
        constraint stix_object_version unique (owner, id, version_key)
      )`);
    this.addSql(`create index stix_object_added on indicators.stix_object (date_added, seq)`);
    this.addSql(`create index stix_object_id on indicators.stix_object (id)`);
    this.addSql(`create index stix_object_shared_with on indicators.stix_object using gin (shared_with)`);

    this.addSql(`
      create table indicators.import_job (
        id uuid primary key default gen_random_uuid(),
        owner text not null,
        status text not null check (status in ('pending', 'complete')),
        total_count int not null,
        success_count int not null default 0,
        failure_count int not null default 0,
        request_timestamp timestamptz not null default now(),
        heartbeat_at timestamptz not null default now(),
        completed_at timestamptz
      )`);
    this.addSql(`create index import_job_owner on indicators.import_job (owner, request_timestamp)`);
    // One row per object of an import, written with its chunk: a status read or a chunk's progress never
    // rewrites what came before.
    this.addSql(`
      create table indicators.import_outcome (
        job_id uuid not null references indicators.import_job (id) on delete cascade,
        ord int not null,
        ok boolean not null,
        id text not null,
        version text,
        property text,
        message text,
        primary key (job_id, ord)
      )`);

    // Indicators: one row per (owner, STIX id); the value columns name its first observable, if any.
    this.addSql(`alter table indicators.indicator drop constraint indicator_owner_type_value`);
    this.addSql(`alter table indicators.indicator drop constraint indicator_pkey`);
    this.addSql(`alter table indicators.indicator add primary key (seq)`);
    this.addSql(`alter table indicators.indicator add constraint indicator_owner_id unique (owner, id)`);
    this.addSql(`alter table indicators.indicator alter column type drop not null, alter column value drop not null, alter column confidence drop not null`);
    this.addSql(`alter table indicators.indicator drop constraint if exists indicator_type_check`);
    this.addSql(`alter table indicators.indicator add constraint indicator_type_check
      check (type in ('IPV4', 'IPV6', 'CIDR', 'DOMAIN', 'URL', 'EMAIL', 'MD5', 'SHA1', 'SHA256', 'SHA512', 'FILE_NAME'))`);
    // Published by value (publishIndicators) or sent as a STIX object: only the former are keyed on
    // their value, while they hold (a revoked STIX object stays revoked: publishing the value again
    // makes a new indicator).
    this.addSql(`alter table indicators.indicator add column source text not null default 'publish' check (source in ('publish', 'stix'))`);
    this.addSql(`create unique index indicator_published_value on indicators.indicator (owner, type, value) where source = 'publish' and not revoked`);
    this.addSql(`alter table indicators.indicator add column pattern text`);
    this.addSql(`update indicators.indicator set pattern = case type
        when 'IPV4' then '[ipv4-addr:value = ''' || value || ''']'
        when 'IPV6' then '[ipv6-addr:value = ''' || value || ''']'
        when 'CIDR' then case when value like '%:%' then '[ipv6-addr:value ISSUBSET ''' else '[ipv4-addr:value ISSUBSET ''' end || value || ''']'
        when 'DOMAIN' then '[domain-name:value = ''' || value || ''']'
        when 'URL' then '[url:value = ''' || replace(replace(value, '\\', '\\\\'), '''', '\\''') || ''']'
        when 'EMAIL' then '[email-addr:value = ''' || replace(value, '''', '\\''') || ''']'
        when 'MD5' then '[file:hashes.MD5 = ''' || value || ''']'
        when 'SHA1' then '[file:hashes.''SHA-1'' = ''' || value || ''']'
        when 'SHA256' then '[file:hashes.''SHA-256'' = ''' || value || ''']' end`);
    this.addSql(`alter table indicators.indicator alter column pattern set not null`);
    this.addSql(`alter table indicators.indicator add column pattern_type text not null default 'stix'`);
    this.addSql(`alter table indicators.indicator add column name text`);
    this.addSql(`alter table indicators.indicator add column indicator_types text[] not null default '{}'`);
    // The STIX version this row projects (see stix_object.version_key).
    this.addSql(`alter table indicators.indicator add column version_key text not null default ''`);
    this.addSql(`update indicators.indicator set version_key = to_char(modified_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '000Z'`);
    // STIX descriptions are as long as their authors wrote them.
    this.addSql(`alter table indicators.indicator drop constraint if exists indicator_description_check`);

    this.addSql(`
      create table indicators.observable (
        indicator_seq bigint not null references indicators.indicator (seq) on delete cascade,
        type text not null,
        value text not null
      )`);
    this.addSql(`create index observable_value on indicators.observable (value)`);
    this.addSql(`create index observable_indicator on indicators.observable (indicator_seq)`);
    // An address looked up finds the CIDR blocks that hold it.
    this.addSql(`create index observable_cidr on indicators.observable using gist ((value::inet) inet_ops) where type = 'CIDR'`);
    this.addSql(`insert into indicators.observable (indicator_seq, type, value) select seq, type, value from indicators.indicator`);
  }
}

export const stixStoreMigration = { name: "Migration20261129000100_stix_store", class: Migration20261129000100_stix_store };
