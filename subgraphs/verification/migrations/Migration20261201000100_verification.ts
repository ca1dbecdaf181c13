import { Migration } from "@mikro-orm/migrations";

/**
 * Customer identification records (EO 13984 §1) and everything that guards them. Personal values are
 * sealed by the application (AES-256-GCM under the record's data key) before they reach these tables:
 * the bytea columns hold ciphertext, the text columns only what is not personal (statuses, country
 * codes, ids, times). Exact lookups go through keyed hashes in `record_index`.
 */
export class Migration20261201000100_verification extends Migration {
  override async up(): Promise<void> {
    // Accounts as their providers registered them (from account events): whose, what kind, where.
    this.addSql(`
      create table verification.account (
        id uuid primary key,
        provider text not null,
        kind text not null,
        jurisdiction text not null,
        status text not null
      )`);
    this.addSql(`create index account_provider on verification.account (provider)`);
    this.addSql(`
      create table verification.customer_record (
        id uuid primary key,
        owner text not null,
        account_id uuid not null unique,
        product text,
        status text not null,
        us_person boolean not null,
        us_person_reason text not null,
        customer_country text not null,
        foreign_owner_countries text[] not null default '{}',
        master_key_id text not null,
        data_key bytea not null,
        customer bytea not null,
        beneficial_owners bytea not null,
        payments bytea not null,
        contacts bytea not null,
        opened_at timestamptz not null,
        status_changed_at timestamptz not null,
        verified_at timestamptz,
        reverify_due_at timestamptz,
        closed_at timestamptz,
        last_access_at timestamptz,
        retain_until timestamptz,
        legal_hold boolean not null default false,
        legal_hold_reason text,
        version int not null default 1
      )`);
    this.addSql(`create index customer_record_owner_status on verification.customer_record (owner, status)`);
    this.addSql(`create index customer_record_retain_until on verification.customer_record (retain_until) where retain_until is not null`);
    this.addSql(`create index customer_record_reverify on verification.customer_record (owner, reverify_due_at) where reverify_due_at is not null`);
    // The blind index: keyed hashes of national ids, e-mails, phones and card numbers, for exact lookups.
    this.addSql(`
      create table verification.record_index (
        record_id uuid not null references verification.customer_record (id) on delete cascade,
        owner text not null,
        kind text not null,
        key_id text not null,
        digest bytea not null
      )`);
    this.addSql(`create index record_index_lookup on verification.record_index (owner, kind, digest)`);
    this.addSql(`create index record_index_record on verification.record_index (record_id)`);
    this.addSql(`
      create table verification.verification_check (
        id uuid primary key,
        record_id uuid not null references verification.customer_record (id) on delete cascade,
        subject text not null,
        method text not null,
        document_type text,
        issuing_country text,
        expires_on date,
        source text,
        result text not null,
        sealed bytea not null,
        checked_by text not null,
        checked_at timestamptz not null,
        created_at timestamptz not null
      )`);
    this.addSql(`create index verification_check_record on verification.verification_check (record_id, checked_at)`);
    this.addSql(`
      create table verification.status_change (
        seq bigint generated always as identity primary key,
        record_id uuid not null references verification.customer_record (id) on delete cascade,
        from_status text,
        to_status text not null,
        reason bytea not null,
        by_org text not null,
        by_subject text not null,
        at timestamptz not null
      )`);
    this.addSql(`create index status_change_record on verification.status_change (record_id, seq)`);
    // Third-party access (§1(a)(iii)): an agency's request for one account's record, and the provider's decision.
    this.addSql(`
      create table verification.disclosure_request (
        seq bigint generated always as identity unique,
        id uuid primary key,
        owner text not null,
        account_id uuid not null,
        record_id uuid,
        requester text not null,
        requested_by text not null,
        legal_basis text not null,
        status text not null,
        requested_at timestamptz not null,
        decided_at timestamptz,
        decided_by text,
        decision_reason text,
        access_until timestamptz
      )`);
    this.addSql(`create index disclosure_grant on verification.disclosure_request (requester, account_id, access_until) where status = 'APPROVED'`);
    this.addSql(`create index disclosure_owner on verification.disclosure_request (owner, seq)`);
    this.addSql(`create index disclosure_requester on verification.disclosure_request (requester, seq)`);
    // Exemptions (§1(c)): a provider's, an account kind's or a product's, each with its basis and period.
    this.addSql(`
      create table verification.exemption (
        seq bigint generated always as identity unique,
        id uuid primary key,
        owner text not null,
        scope text not null,
        account_kind text,
        product text,
        basis text not null,
        granted_on date not null,
        expires_on date,
        created_by text not null,
        created_at timestamptz not null
      )`);
    this.addSql(`create index exemption_owner on verification.exemption (owner)`);
    // The audit trail: one hash chain per provider, appended in the transaction of what it records.
    this.addSql(`
      create table verification.audit_trail (
        org text not null,
        seq bigint not null,
        at timestamptz not null,
        actor_org text not null,
        actor_subject text not null,
        action text not null,
        record_id uuid,
        account_id uuid,
        detail jsonb not null,
        prev_hash bytea not null,
        hash bytea not null,
        primary key (org, seq)
      )`);
    this.addSql(`create index audit_trail_record on verification.audit_trail (record_id) where record_id is not null`);
    this.addSql(`create table verification.audit_head (org text primary key, seq bigint not null, hash bytea not null)`);
    // Append-only for the hub's own role: a change or removal of a link is refused by the database.
    this.addSql(`
      create function verification.audit_trail_append_only() returns trigger language plpgsql as $$
      begin
        raise exception 'the audit trail is append-only';
      end $$`);
    this.addSql(`
      create trigger audit_trail_append_only before update or delete or truncate on verification.audit_trail
        for each statement execute function verification.audit_trail_append_only()`);
    this.addSql(`create table verification.projection_cursor (name text primary key, seq bigint not null)`);
  }
}
