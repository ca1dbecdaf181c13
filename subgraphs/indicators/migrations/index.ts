import { indicatorMigrations as first } from "./Migration20261125000100_indicators.js";
import { Migration20261210000000_observable_types } from "./Migration20261210000000_observable_types.js";

/** The indicators schema's migrations, in order; an applied migration is never edited, a change is a new one. */
export const indicatorMigrations = [...first, { name: "Migration20261210000000_observable_types", class: Migration20261210000000_observable_types }];
