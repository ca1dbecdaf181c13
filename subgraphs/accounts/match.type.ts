import { Field, Int, ObjectType } from "type-graphql";
import { InputError, PageInfo } from "../../src/graphql/common.types.js";
import type { FlagCategory } from "./flag.entity.js";
import { FlagCategoryEnum } from "./flag.type.js";

// Plain data, up to 1,000 per answer: its fields need no resolver of type-graphql's around them.
@ObjectType({ simpleResolvers: true, description: "What the hub knows of one submitted identifier: flags in force the caller may see, on accounts holding it" })
export class IdentifierMatch {
  @Field(() => Int, { description: "The item's index in the input" })
  index!: number;

  @Field(() => Int, { description: "Flagged accounts holding this identifier (0 when none, or when the item was refused)" })
  flaggedAccounts!: number;

  @Field(() => Int, { description: "Providers holding those accounts" })
  providers!: number;

  @Field(() => [FlagCategoryEnum], { description: "Categories of the flags counted, in alphabetical order" })
  categories!: FlagCategory[];

  @Field(() => Int, { nullable: true, description: "The highest confidence among the flags counted" })
  maxConfidence!: number | null;

  @Field(() => Date, { nullable: true })
  firstFlaggedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  lastFlaggedAt!: Date | null;

  @Field(() => InputError, { nullable: true, description: "Why the item was refused (nothing was looked up for it)" })
  error!: InputError | null;
}

@ObjectType({ description: "One matchIdentifiers call, as the audit trail keeps it: never the identifiers" })
export class MatchAuditEntry {
  @Field({ description: "The calling org" })
  org!: string;

  @Field({ description: "The token subject that called" })
  sub!: string;

  @Field({ description: "The request id of the call (the gateway's log line carries it too)" })
  requestId!: string;

  @Field(() => Int, { description: "Identifiers submitted" })
  identifiers!: number;

  @Field(() => Int, { description: "Identifiers with at least one flagged account" })
  hits!: number;

  @Field({ description: "True when the call was refused for want of daily budget (nothing was looked up)" })
  refused!: boolean;

  @Field()
  at!: Date;
}

@ObjectType()
export class MatchAuditEdge {
  @Field()
  cursor!: string;

  @Field(() => MatchAuditEntry)
  node!: MatchAuditEntry;
}

@ObjectType()
export class MatchAuditConnection {
  @Field(() => [MatchAuditEdge])
  edges!: MatchAuditEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
