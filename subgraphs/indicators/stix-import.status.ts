import { Field, Int, ObjectType } from "type-graphql";

/**
 * The outcome of an import, in the manner of a TAXII 2.1 status resource: totals, and per object id
 * and version, success or the reason it was refused. A large import answers `pending` at once and is
 * polled by its id (GraphQL `stixImport`, TAXII `/status/{id}/`).
 */

@ObjectType({ description: "One object of an import: its id and version, and what became of it" })
export class StixImportItem {
  @Field({ description: "The object's STIX id, as sent (empty when it had none)" })
  id!: string;

  @Field(() => String, { nullable: true, description: "modified, else created, as sent; null for objects without either" })
  version!: string | null;

  @Field(() => String, { nullable: true, description: "For a failure, the property at fault (JSON path inside the object)" })
  property?: string | null;

  @Field(() => String, { nullable: true, description: "Why it failed; for a success, a note (for example: already held, or an older version kept as history)" })
  message?: string | null;
}

@ObjectType({ description: "What became of an import: complete, or pending while a large one runs" })
export class StixImportStatus {
  @Field({ description: "Poll `stixImport(id)` or TAXII /status/{id}/ with it" })
  id!: string;

  @Field({ description: "'pending' or 'complete'" })
  status!: "pending" | "complete";

  @Field()
  requestTimestamp!: Date;

  @Field(() => Int)
  totalCount!: number;

  @Field(() => Int)
  successCount!: number;

  @Field(() => Int)
  failureCount!: number;

  @Field(() => Int)
  pendingCount!: number;

  @Field(() => [StixImportItem])
  successes!: StixImportItem[];

  @Field(() => [StixImportItem])
  failures!: StixImportItem[];
}
