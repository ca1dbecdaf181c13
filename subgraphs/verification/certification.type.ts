import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { AccountKindEnum, ExemptionScopeEnum, type ExemptAccountKind, type ExemptionScope } from "./exemption.type.js";
import { VerificationStatusEnum, type StoredStatus } from "./record.enums.js";

export const UNVERIFIABLE_CAUSES = ["FAILED", "UNVERIFIED_TOO_LONG"] as const;
export type UnverifiableCause = (typeof UNVERIFIABLE_CAUSES)[number];
export const CASE_RESOLUTIONS = ["CLOSED", "VERIFIED", "OPEN"] as const;
export type CaseResolution = (typeof CASE_RESOLUTIONS)[number];

const asEnum = <T extends string>(values: readonly T[]) => Object.fromEntries(values.map((v) => [v, v])) as { [K in T]: K };
export const UnverifiableCauseEnum = asEnum(UNVERIFIABLE_CAUSES);
registerEnumType(UnverifiableCauseEnum, {
  name: "UnverifiableCause",
  description: "FAILED: verification failed; UNVERIFIED_TOO_LONG: restricted (UNVERIFIED) longer than CIP_UNVERIFIED_MAX_DAYS",
});
export const CaseResolutionEnum = asEnum(CASE_RESOLUTIONS);
registerEnumType(CaseResolutionEnum, { name: "CaseResolution", description: "How an unverifiable case ended by the report's date: the account CLOSED, the customer VERIFIED after all, or still OPEN" });

@ObjectType({ description: "The counts of the certification, each over the accounts no exemption covered at the report's date (exempt accounts are counted apart)" })
export class CertificationSummary {
  @Field(() => Int, { description: "Customers: records opened by the date and not CLOSED then" })
  customers!: number;

  @Field(() => Int)
  usCustomers!: number;

  @Field(() => Int)
  foreignCustomers!: number;

  @Field(() => Int, { description: "Foreign beneficial owners of those customers" })
  foreignBeneficialOwners!: number;

  @Field(() => Int)
  foreignResellerAccounts!: number;

  @Field(() => Int, { description: "Foreign customers' accounts not VERIFIED at the date" })
  foreignAccountsNotVerified!: number;

  @Field(() => Int, { description: "Open accounts an exemption in force covered at the date" })
  exemptAccounts!: number;

  @Field(() => Int)
  unverifiableCases!: number;

  @Field(() => Int, { description: "Open accounts, not exempt, without a customer record by the date" })
  accountsWithoutRecord!: number;
}

@ObjectType({ description: "Customers whose record places them in one country (citizenship, residence, organisation or location, as the record classified them)" })
export class CountryCustomers {
  @Field({ description: "ISO 3166-1 alpha-2" })
  country!: string;

  @Field(() => Int)
  customers!: number;

  @Field(() => Int)
  usPersons!: number;

  @Field(() => Int)
  foreign!: number;
}

@ObjectType()
export class CountryCount {
  @Field({ description: "ISO 3166-1 alpha-2" })
  country!: string;

  @Field(() => Int)
  count!: number;
}

@ObjectType({ description: "A RESELLER account whose customer is not a US person: ids and country only" })
export class ForeignResellerAccount {
  @Field(() => ID, { description: "account--<uuid>" })
  accountId!: string;

  @Field(() => ID, { description: "customer-record--<uuid>" })
  recordId!: string;

  @Field({ description: "The customer's country (ISO 3166-1 alpha-2)" })
  country!: string;
}

@ObjectType()
export class UnverifiedAccount {
  @Field(() => ID)
  accountId!: string;

  @Field(() => ID)
  recordId!: string;

  @Field({ description: "ISO 3166-1 alpha-2" })
  country!: string;

  @Field(() => VerificationStatusEnum, { description: "The status at the report's date" })
  status!: StoredStatus;
}

@ObjectType()
export class UnverifiedForeignAccounts {
  @Field(() => Int)
  count!: number;

  @Field(() => [UnverifiedAccount], { description: "By account id" })
  accounts!: UnverifiedAccount[];
}

@ObjectType({ description: "The accounts one exemption covered (each account counted once, under the broadest exemption: provider, kind, product, then the earliest)" })
export class ExemptionCount {
  @Field(() => ID)
  exemptionId!: string;

  @Field(() => ExemptionScopeEnum)
  scope!: ExemptionScope;

  @Field(() => AccountKindEnum, { nullable: true })
  accountKind!: ExemptAccountKind | null;

  @Field(() => String, { nullable: true })
  product!: string | null;

  @Field()
  basis!: string;

  @Field(() => Int)
  accounts!: number;
}

@ObjectType()
export class ExemptAccounts {
  @Field(() => Int)
  count!: number;

  @Field(() => [ExemptionCount], { description: "By exemption, oldest grant first" })
  byBasis!: ExemptionCount[];
}

@ObjectType({ description: "One move of a record's status" })
export class StatusStep {
  @Field(() => VerificationStatusEnum)
  status!: StoredStatus;

  @Field()
  at!: Date;
}

@ObjectType({ description: "A customer that could not be verified: FAILED, or UNVERIFIED past the allowed period; and how it ended" })
export class UnverifiableCase {
  @Field(() => ID)
  recordId!: string;

  @Field(() => ID)
  accountId!: string;

  @Field(() => UnverifiableCauseEnum)
  cause!: UnverifiableCause;

  @Field({ description: "When it became unverifiable: the move to FAILED, or the end of the allowed UNVERIFIED period" })
  since!: Date;

  @Field(() => VerificationStatusEnum, { description: "The status at the report's date" })
  status!: StoredStatus;

  @Field(() => CaseResolutionEnum)
  resolution!: CaseResolution;

  @Field(() => Date, { nullable: true, description: "When it was closed or verified; null while OPEN" })
  resolvedAt!: Date | null;

  @Field(() => [StatusStep], { description: "Every move of the status up to the report's date, in order" })
  statusPath!: StatusStep[];

  @Field(() => String, { nullable: true, description: "The reason given for the last move up to the date (the provider's own words, opened from its sealed form); null if it does not open" })
  reason!: string | null;
}

@ObjectType({ description: "The annual certification of the proposed CIP rule (89 FR 5698) for the caller's own records, as of a date" })
export class CertificationReport {
  @Field({ description: "The provider whose records it covers: the caller's org" })
  provider!: string;

  @Field()
  asOf!: Date;

  @Field()
  generatedAt!: Date;

  @Field(() => Int, { description: "CIP_UNVERIFIED_MAX_DAYS as applied" })
  unverifiedMaxDays!: number;

  @Field(() => CertificationSummary)
  summary!: CertificationSummary;

  @Field(() => [CountryCustomers], { description: "By country code" })
  customersByCountry!: CountryCustomers[];

  @Field(() => [CountryCount], { description: "By country code" })
  foreignBeneficialOwnersByCountry!: CountryCount[];

  @Field(() => [ForeignResellerAccount], { description: "By account id" })
  foreignResellerAccounts!: ForeignResellerAccount[];

  @Field(() => UnverifiedForeignAccounts)
  foreignAccountsNotVerified!: UnverifiedForeignAccounts;

  @Field(() => ExemptAccounts)
  exemptAccounts!: ExemptAccounts;

  @Field(() => [UnverifiableCase], { description: "By the time each became unverifiable" })
  unverifiableCases!: UnverifiableCase[];
}
