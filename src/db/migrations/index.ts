import { hubMigrations as first } from "./Migration20261125000000_hub.js";
import { Migration20261201000000_idempotency } from "./Migration20261201000000_idempotency.js";

/** The hub schema's migrations, in order; an applied migration is never edited, a change is a new one. */
export const hubMigrations = [...first, { name: "Migration20261201000000_idempotency", class: Migration20261201000000_idempotency }];
