import { Field, ID, Int, ObjectType } from "type-graphql";
import { PageInfo } from "../../src/graphql/common.types.js";

@ObjectType({ description: "The result of walking a provider's audit trail from its first link" })
export class AuditChainReport {
  @Field({ description: "True when every link holds and the chain reaches its recorded head" })
  ok!: boolean;

  @Field(() => Int, { description: "Links checked before the first broken one (all of them when ok)" })
  checked!: number;

  @Field(() => String, { nullable: true, description: "The first link that does not hold ('seq N'), or null" })
  firstBroken!: string | null;
}

@ObjectType({ description: "One link of a provider's audit trail: who did what, to which record, when" })
export class AuditLink {
  @Field(() => Int, { description: "Its place in the chain, from 1; verifyAuditChain names a broken link by it" })
  seq!: number;

  @Field()
  at!: Date;

  @Field({ description: "The organisation that acted: the provider itself, or an agency reading under a disclosure" })
  actorOrg!: string;

  @Field({ description: "The token's subject within that organisation" })
  actorSubject!: string;

  @Field({ description: "RECORD_OPENED, RECORD_READ, STATUS_CHANGED, DISCLOSURE_DECIDED, EXEMPTION_GRANTED, REPORT_EXPORTED, RECORDS_PURGED, …" })
  action!: string;

  @Field(() => ID, { nullable: true, description: "customer-record--<uuid>" })
  recordId!: string | null;

  @Field(() => ID, { nullable: true, description: "account--<uuid>" })
  accountId!: string | null;

  @Field({ description: "What else the link says, as a JSON object: ids, counts and statuses, never a personal value" })
  detail!: string;
}

@ObjectType()
export class AuditLinkEdge {
  @Field()
  cursor!: string;

  @Field(() => AuditLink)
  node!: AuditLink;
}

@ObjectType()
export class AuditLinkConnection {
  @Field(() => [AuditLinkEdge])
  edges!: AuditLinkEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
