import { incidentMigrations as first } from "./Migration20261125000200_incidents.js";
import { Migration20261129000400_account_links } from "./Migration20261129000400_account_links.js";

/** The incidents schema's migrations, in order; an applied migration is never edited, a change is a new one. */
export const incidentMigrations = [...first, { name: "Migration20261129000400_account_links", class: Migration20261129000400_account_links }];
