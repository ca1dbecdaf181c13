import { Migration } from "@mikro-orm/migrations";

/**
 * Verification rounds. A record's round begins at opening and again at each move back to PENDING and
 * each change of beneficial owners; a check belongs to the round it was recorded in, and only checks
 * of the current round count towards VERIFIED: a check of `beneficialOwners[1]` made before the owners
 * changed was a check of someone else. Numbered rather than timed, so that two things in the same
 * instant are still in order.
 */
export class Migration20261201000210_verification_rounds extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table verification.customer_record add column round int not null default 1`);
    this.addSql(`alter table verification.verification_check add column round int not null default 1`);
    this.addSql(`create index verification_check_round on verification.verification_check (record_id, round) where result = 'PASS'`);
  }
}
