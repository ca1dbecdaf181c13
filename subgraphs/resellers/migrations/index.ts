import { Migration20261130000100_resellers } from "./Migration20261130000100_resellers.js";

/** The resellers schema's migrations, in order; an applied migration is never edited, a change is a new one. */
export const resellerMigrations = [{ name: "Migration20261130000100_resellers", class: Migration20261130000100_resellers }];
