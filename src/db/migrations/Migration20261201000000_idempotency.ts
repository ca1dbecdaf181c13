import { Migration } from "@mikro-orm/migrations";

/**
 * Idempotency records: per org, subgraph and key, the fingerprint of the request and the answer it
 * got, written in the transaction of the mutation itself (src/graphql/idempotency.ts).
 */
export class Migration20261201000000_idempotency extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table hub.idempotency (
        org text not null,
        subgraph text not null,
        key text not null check (length(key) between 1 and 255),
        fingerprint text not null,
        status smallint,
        response text not null,
        created_at timestamptz not null default now(),
        primary key (org, subgraph, key)
      )`);
    this.addSql(`create index idempotency_created_at on hub.idempotency (created_at)`);
  }
}
