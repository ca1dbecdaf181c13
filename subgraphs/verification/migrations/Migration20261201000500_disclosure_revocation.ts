import { Migration } from "@mikro-orm/migrations";

/**
 * Disclosures a provider ends before their time (revokeDisclosure): who ended it, when and why, kept
 * beside the decision it ends rather than over it. And at most one undecided request per agency and
 * account, held by the database: two requests filed at once cannot both wait.
 */
export class Migration20261201000500_disclosure_revocation extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table verification.disclosure_request
        add column revoked_at timestamptz,
        add column revoked_by text,
        add column revocation_reason text`);
    this.addSql(`create unique index disclosure_one_pending on verification.disclosure_request (requester, account_id) where status = 'REQUESTED'`);
    // The purge's own search: a provider's closed records past their date (the shared index has no owner).
    this.addSql(`create index customer_record_owner_retain on verification.customer_record (owner, retain_until) where retain_until is not null`);
  }
}
