import { Migration } from "@mikro-orm/migrations";

export class Migration20261125000200_incidents extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table incidents.incident (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        owner text not null,
        source_ref text check (length(source_ref) between 1 and 200),
        title text not null check (length(title) between 1 and 300),
        description text check (length(description) <= 20000),
        severity text not null check (severity in ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
        status text not null check (status in ('NEW', 'TRIAGED', 'INVESTIGATING', 'CONTAINED', 'CLOSED')),
        resolution text check (resolution in ('TRUE_POSITIVE', 'FALSE_POSITIVE', 'INDETERMINATE', 'DUPLICATE', 'OTHER')),
        tlp text not null check (tlp in ('CLEAR', 'GREEN', 'AMBER', 'AMBER_STRICT', 'RED')),
        shared_with text[] not null default '{}',
        referred_to text[] not null default '{}',
        determination text,
        investigation_status text,
        incident_types text[] not null default '{}',
        criticality smallint check (criticality between 0 and 100),
        detection_methods text[] not null default '{}',
        affected_products text[] not null default '{}',
        indicator_ids uuid[] not null default '{}',
        account_ids text[] not null default '{}',
        occurred_at timestamptz,
        detected_at timestamptz,
        reported_at timestamptz not null default now(),
        created_at timestamptz not null default now(),
        modified_at timestamptz not null default now(),
        constraint incident_closed_has_resolution check ((status = 'CLOSED') = (resolution is not null)),
        constraint incident_owner_source_ref unique (owner, source_ref)
      )`);
    // Who may see an AMBER or RED incident besides its owner: the orgs it is shared with and the
    // agencies it is referred to. The TLP rule reads this one column.
    this.addSql(`alter table incidents.incident add column audience text[] generated always as (shared_with || referred_to) stored`);
    this.addSql(`create index incident_audience on incidents.incident using gin (audience)`);
    this.addSql(`create index incident_indicator_ids on incidents.incident using gin (indicator_ids)`);
    this.addSql(`create index incident_account_ids on incidents.incident using gin (account_ids)`);
    this.addSql(`
      create table incidents.timeline_entry (
        id bigint generated always as identity primary key,
        incident_id uuid not null references incidents.incident (id),
        kind text not null check (kind in ('REPORTED', 'UPDATED', 'STATUS', 'NOTE', 'REFERRED')),
        author_org text not null,
        at timestamptz not null default clock_timestamp(),
        from_status text,
        to_status text,
        text text check (length(text) <= 10000),
        agencies text[] not null default '{}'
      )`);
    this.addSql(`create index timeline_entry_incident on incidents.timeline_entry (incident_id, id)`);
    // The markings of indicators, projected from the indicators subgraph's events: which indicator ids
    // exist and who may see them, so that links are checked and filtered without reading its tables.
    this.addSql(`
      create table incidents.indicator_marking (
        indicator_id uuid primary key,
        owner text not null,
        tlp text not null,
        shared_with text[] not null default '{}'
      )`);
    this.addSql(`create table incidents.projection_cursor (name text primary key, seq bigint not null)`);
  }
}

export const incidentMigrations = [{ name: "Migration20261125000200_incidents", class: Migration20261125000200_incidents }];
