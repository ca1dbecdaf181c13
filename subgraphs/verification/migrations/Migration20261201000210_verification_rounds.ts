import { Migration } from "@mikro-orm/migrations";

/**
 * When the record's current verification round began: at opening, at each move back to PENDING and
 * at each change of beneficial owners. Only checks recorded since then count towards VERIFIED, since a
 * check of `beneficialOwners[1]` made before the owners changed was a check of someone else.
 */
export class Migration20261201000210_verification_rounds extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table verification.customer_record add column round_started_at timestamptz`);
    this.addSql(`update verification.customer_record set round_started_at = status_changed_at`);
    this.addSql(`alter table verification.customer_record alter column round_started_at set not null`);
    this.addSql(`create index verification_check_round on verification.verification_check (record_id, created_at) where result = 'PASS'`);
  }
}
