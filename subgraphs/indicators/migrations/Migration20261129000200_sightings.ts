import { Migration } from "@mikro-orm/migrations";

/**
 * Sightings: an org saw an indicator, `count` times between `first_seen` and `last_seen`. A sighting is
 * of the indicator's STIX id, whichever org's copy the reporter saw, and carries a TLP of its own (who
 * saw what is often more sensitive than the indicator). Reported through the API or imported as STIX
 * `sighting` objects (whose versions are kept in stix_object, like every STIX object).
 */
export class Migration20261129000200_sightings extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table indicators.sighting (
        seq bigint generated always as identity primary key,
        -- the uuid of the STIX id sighting--<uuid>
        id uuid not null,
        owner text not null,
        -- the uuid of the sighted indicator's STIX id
        indicator_id uuid not null,
        -- STIX leaves count out when it is not known
        count int check (count between 0 and 999999999),
        first_seen timestamptz not null,
        last_seen timestamptz not null,
        tlp text not null check (tlp in ('CLEAR', 'GREEN', 'AMBER', 'AMBER_STRICT', 'RED')),
        shared_with text[] not null default '{}',
        created_at timestamptz not null default now(),
        constraint sighting_owner_id unique (owner, id),
        constraint sighting_seen check (last_seen >= first_seen)
      )`);
    this.addSql(`create index sighting_indicator on indicators.sighting (indicator_id)`);
    this.addSql(`create index sighting_shared_with on indicators.sighting using gin (shared_with)`);
  }
}

export const sightingsMigration = { name: "Migration20261129000200_sightings", class: Migration20261129000200_sightings };
