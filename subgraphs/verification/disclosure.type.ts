import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { InputError, PageInfo } from "../../src/graphql/common.types.js";

export const DISCLOSURE_STATUSES = ["REQUESTED", "APPROVED", "REFUSED", "REVOKED", "EXPIRED"] as const;
export type DisclosureStatus = (typeof DISCLOSURE_STATUSES)[number];
export const DisclosureStatusEnum = Object.fromEntries(DISCLOSURE_STATUSES.map((s) => [s, s])) as { [K in DisclosureStatus]: K };
registerEnumType(DisclosureStatusEnum, {
  name: "DisclosureStatus",
  description:
    "REQUESTED: awaits the provider. APPROVED: the agency reads the record until accessUntil. REFUSED. REVOKED: the provider ended an approval early. EXPIRED: an approval past accessUntil.",
});

@ObjectType({ description: "An agency's request to read one account's customer record (§1(a)(iii)), and the provider's decision" })
export class DisclosureRequest {
  @Field(() => ID, { description: "disclosure-request--<uuid>" })
  id!: string;

  @Field(() => ID, { description: "account--<uuid>: the account whose record is asked for" })
  accountId!: string;

  @Field({ description: "The provider org that holds the account, and decides" })
  provider!: string;

  @Field({ description: "The agency org that asked" })
  requester!: string;

  @Field({ description: "The subject of the agency's token that filed it" })
  requestedBy!: string;

  @Field({ description: "The authority the agency cites" })
  legalBasis!: string;

  @Field(() => DisclosureStatusEnum)
  status!: DisclosureStatus;

  @Field()
  requestedAt!: Date;

  @Field(() => Date, { nullable: true })
  decidedAt!: Date | null;

  @Field(() => String, { nullable: true, description: "The subject of the provider's token that decided" })
  decidedBy!: string | null;

  @Field(() => String, { nullable: true })
  decisionReason!: string | null;

  @Field(() => Date, { nullable: true, description: "APPROVED: the agency reads the record until then (DISCLOSURE_ACCESS_DAYS after approval; the revocation time once REVOKED)" })
  accessUntil!: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;

  @Field(() => String, { nullable: true })
  revokedBy!: string | null;

  @Field(() => String, { nullable: true })
  revocationReason!: string | null;
}

@ObjectType({ description: "The request as it now stands, or why nothing was done (error.field names the argument)" })
export class DisclosureResult {
  @Field(() => DisclosureRequest, { nullable: true })
  request!: DisclosureRequest | null;

  @Field(() => InputError, { nullable: true })
  error!: InputError | null;
}

@ObjectType()
export class DisclosureEdge {
  @Field()
  cursor!: string;

  @Field(() => DisclosureRequest)
  node!: DisclosureRequest;
}

@ObjectType({ description: "Disclosure requests, newest first; keyset pages" })
export class DisclosureConnection {
  @Field(() => [DisclosureEdge])
  edges!: DisclosureEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
