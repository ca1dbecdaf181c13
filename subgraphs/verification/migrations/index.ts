import { Migration20261201000100_verification } from "./Migration20261201000100_verification.js";
import { Migration20261201000200_access_log } from "./Migration20261201000200_access_log.js";
import { Migration20261201000210_verification_rounds } from "./Migration20261201000210_verification_rounds.js";
import { Migration20261201000500_disclosure_revocation } from "./Migration20261201000500_disclosure_revocation.js";

/** The verification schema's migrations, in order; an applied migration is never edited, a change is a new one. */
export const verificationMigrations = [
  { name: "Migration20261201000100_verification", class: Migration20261201000100_verification },
  { name: "Migration20261201000200_access_log", class: Migration20261201000200_access_log },
  { name: "Migration20261201000210_verification_rounds", class: Migration20261201000210_verification_rounds },
  { name: "Migration20261201000500_disclosure_revocation", class: Migration20261201000500_disclosure_revocation },
];
