import { Directive, Field, Float, ID, ObjectType } from "type-graphql";
import { InputError, PageInfo } from "../../src/graphql/common.types.js";
import { CalendarDate } from "./date.scalar.js";
import {
  CheckMethodEnum,
  CheckResultEnum,
  HolderTypeEnum,
  PaymentTypeEnum,
  VerificationStatusEnum,
  type CheckMethod,
  type CheckResult,
  type HolderType,
  type PaymentType,
  type VerificationStatus,
} from "./record.enums.js";

/**
 * The account of the accounts subgraph, to which verification adds its status: the status only,
 * never a personal value, and only to the viewers who may read the record.
 */
@Directive(`@key(fields: "id")`)
@ObjectType("Account")
export class AccountRef {
  @Field(() => ID)
  id!: string;
}

@ObjectType()
export class Address {
  @Field(() => [String])
  lines!: string[];

  @Field(() => String, { nullable: true })
  city!: string | null;

  @Field(() => String, { nullable: true })
  region!: string | null;

  @Field(() => String, { nullable: true })
  postalCode!: string | null;

  @Field({ description: "ISO 3166-1 alpha-2" })
  country!: string;
}

@ObjectType({ description: "The customer or a beneficial owner, as the provider recorded it" })
export class Party {
  @Field(() => HolderTypeEnum)
  kind!: HolderType;

  @Field(() => [String])
  names!: string[];

  @Field(() => [Address])
  addresses!: Address[];

  @Field(() => String, { nullable: true, description: "<country>:<number>, in canonical form" })
  nationalId!: string | null;

  @Field(() => CalendarDate, { nullable: true })
  dateOfBirth!: string | null;

  @Field(() => [String])
  citizenship!: string[];

  @Field(() => String, { nullable: true })
  permanentResidence!: string | null;

  @Field(() => String, { nullable: true })
  organizedIn!: string | null;

  @Field(() => String, { nullable: true })
  locatedIn!: string | null;

  @Field(() => Float, { nullable: true, description: "Beneficial owners: the share of ownership in percent, as given" })
  ownershipPercent?: number | null;

  @Field(() => Boolean, { nullable: true, description: "Beneficial owners: substantial control, as given" })
  substantialControl?: boolean | null;

  @Field({ description: "A US person (citizen or permanent resident, entity organised in the US, or located in the US)" })
  usPerson!: boolean;

  @Field({ description: "Which rule decided usPerson" })
  usPersonReason!: string;
}

@ObjectType()
export class Payment {
  @Field(() => PaymentTypeEnum)
  type!: PaymentType;

  @Field(() => String, { nullable: true })
  institution!: string | null;

  @Field(() => String, { nullable: true, description: "Digits only" })
  cardNumber!: string | null;

  @Field(() => String, { nullable: true })
  accountNumber!: string | null;

  @Field(() => String, { nullable: true })
  customerIdentifier!: string | null;

  @Field(() => [String])
  transactionIds!: string[];

  @Field(() => String, { nullable: true })
  walletAddress!: string | null;
}

@ObjectType({ description: "An e-mail address or phone number used to verify identity" })
export class ContactPoint {
  @Field({ description: "Canonical form: a lower-case e-mail address, an E.164 phone number" })
  value!: string;

  @Field(() => Date, { nullable: true, description: "When it was verified; null if it was not" })
  verifiedAt!: Date | null;
}

@ObjectType()
export class VerificationCheck {
  @Field(() => ID)
  id!: string;

  @Field({ description: "customer, or beneficialOwners[i] as the owners stood when the check was recorded" })
  subject!: string;

  @Field(() => CheckMethodEnum)
  method!: CheckMethod;

  @Field(() => String, { nullable: true })
  documentType!: string | null;

  @Field(() => String, { nullable: true })
  documentNumber!: string | null;

  @Field(() => String, { nullable: true })
  issuingCountry!: string | null;

  @Field(() => CalendarDate, { nullable: true })
  expiresOn!: string | null;

  @Field(() => String, { nullable: true })
  source!: string | null;

  @Field(() => CheckResultEnum)
  result!: CheckResult;

  @Field(() => String, { nullable: true })
  discrepancy!: string | null;

  @Field(() => String, { nullable: true })
  resolution!: string | null;

  @Field({ description: "The org and subject of the token that recorded it (org/subject)" })
  checkedBy!: string;

  @Field()
  checkedAt!: Date;
}

@ObjectType({ description: "One move of a record's status, or the start of a new verification round (from = to)" })
export class StatusChange {
  @Field(() => VerificationStatusEnum, { nullable: true, description: "Null for the record's opening" })
  from!: VerificationStatus | null;

  @Field(() => VerificationStatusEnum)
  to!: VerificationStatus;

  @Field()
  reason!: string;

  @Field({ description: "The org and subject of the token that made it (org/subject)" })
  by!: string;

  @Field()
  at!: Date;
}

@ObjectType({ description: "A customer identification record (EO 13984 §1(a)(ii)); its personal fields are stored sealed" })
export class CustomerRecord {
  @Field(() => ID, { description: "customer-record--<uuid>" })
  id!: string;

  @Field(() => ID, { description: "account--<uuid>" })
  accountId!: string;

  @Field(() => VerificationStatusEnum)
  status!: VerificationStatus;

  @Field({ description: "The customer's US-person classification" })
  usPerson!: boolean;

  @Field()
  usPersonReason!: string;

  @Field(() => String, { nullable: true })
  product!: string | null;

  @Field(() => Party)
  customer!: Party;

  @Field(() => [Party])
  beneficialOwners!: Party[];

  @Field(() => [Payment])
  payments!: Payment[];

  @Field(() => [ContactPoint])
  emails!: ContactPoint[];

  @Field(() => [ContactPoint])
  phones!: ContactPoint[];

  @Field(() => [VerificationCheck], { description: "Oldest first" })
  checks!: VerificationCheck[];

  @Field(() => [StatusChange], { description: "Oldest first" })
  statusHistory!: StatusChange[];

  @Field()
  openedAt!: Date;

  @Field()
  statusChangedAt!: Date;

  @Field(() => Date, { nullable: true, description: "When it was last VERIFIED" })
  verifiedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: "VERIFIED: when re-verification is due (verifiedAt + CIP_REVERIFY_AFTER_DAYS)" })
  reverifyDueAt!: Date | null;

  @Field({ description: "VERIFIED and reverifyDueAt has passed" })
  reverificationDue!: boolean;

  @Field(() => Date, { nullable: true, description: "UNVERIFIED: the end of the restricted period (CIP_UNVERIFIED_MAX_DAYS), by when it is verified or closed" })
  restrictedUntil!: Date | null;

  @Field(() => Date, { nullable: true })
  closedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: "The latest access or administrative action recorded for the account" })
  lastAccessAt!: Date | null;

  @Field(() => Date, { nullable: true, description: "CLOSED: kept until then (the later of closure and last access, plus CIP_RETENTION_DAYS)" })
  retainUntil!: Date | null;

  @Field()
  legalHold!: boolean;
}

@ObjectType()
export class CustomerRecordResult {
  @Field(() => CustomerRecord, { nullable: true })
  record!: CustomerRecord | null;

  @Field(() => InputError, { nullable: true })
  error!: InputError | null;
}

@ObjectType({ description: "A record due for re-verification: ids and dates only" })
export class ReverificationDue {
  @Field(() => ID)
  recordId!: string;

  @Field(() => ID)
  accountId!: string;

  @Field()
  verifiedAt!: Date;

  @Field()
  reverifyDueAt!: Date;
}

@ObjectType()
export class ReverificationEdge {
  @Field()
  cursor!: string;

  @Field(() => ReverificationDue)
  node!: ReverificationDue;
}

@ObjectType()
export class ReverificationConnection {
  @Field(() => [ReverificationEdge])
  edges!: ReverificationEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
