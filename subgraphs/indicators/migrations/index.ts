import { indicatorMigrations as first } from "./Migration20261125000100_indicators.js";
import { stixStoreMigration } from "./Migration20261129000100_stix_store.js";
import { sightingsMigration } from "./Migration20261129000200_sightings.js";

/** The indicators schema's migrations, in order; an applied migration is never edited, a change is a new one. */
export const indicatorMigrations = [...first, stixStoreMigration, sightingsMigration];
