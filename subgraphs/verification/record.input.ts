import { Field, Float, ID, InputType } from "type-graphql";
import { CalendarDate } from "./date.scalar.js";
import {
  CheckMethodEnum,
  CheckResultEnum,
  ContactChannelEnum,
  HolderTypeEnum,
  PaymentTypeEnum,
  type CheckMethod,
  type CheckResult,
  type ContactChannel,
  type HolderType,
  type PaymentType,
} from "./record.enums.js";

/*
 * Every personal field below is sealed on arrival (AES-256-GCM, a data key per record) and never
 * logged or echoed in an error; errors name the field only (`customer.addresses[1].country`).
 */

@InputType()
export class AddressInput {
  @Field(() => [String], { description: "Street lines, 1-5 of up to 200 characters" })
  lines!: string[];

  @Field(() => String, { nullable: true, description: "Up to 100 characters" })
  city?: string | null;

  @Field(() => String, { nullable: true, description: "State, province or region; up to 100 characters" })
  region?: string | null;

  @Field(() => String, { nullable: true, description: "Up to 20 characters" })
  postalCode?: string | null;

  @Field({ description: "ISO 3166-1 alpha-2, upper case" })
  country!: string;
}

@InputType({ description: "The customer or one beneficial owner (25% ownership or substantial control)" })
export class PartyInput {
  @Field(() => HolderTypeEnum)
  kind!: HolderType;

  @Field(() => [String], { description: "1-10 names (legal name first, then other names used), up to 300 characters each" })
  names!: string[];

  @Field(() => [AddressInput], { description: "Up to 10" })
  addresses!: AddressInput[];

  @Field(() => String, { nullable: true, description: "<ISO 3166-1 alpha-2 issuing country>:<number>, e.g. DE:T22000129" })
  nationalId?: string | null;

  @Field(() => CalendarDate, { nullable: true, description: "Individuals only" })
  dateOfBirth?: string | null;

  @Field(() => [String], { nullable: true, description: "Individuals (at least one): ISO 3166-1 alpha-2 codes of each citizenship, up to 10" })
  citizenship?: string[] | null;

  @Field(() => String, { nullable: true, description: "Individuals: ISO 3166-1 alpha-2 country of permanent residence" })
  permanentResidence?: string | null;

  @Field(() => String, { nullable: true, description: "Entities (required): ISO 3166-1 alpha-2 country of organisation" })
  organizedIn?: string | null;

  @Field(() => String, { nullable: true, description: "ISO 3166-1 alpha-2 country where the party is located (an entity's principal place of business)" })
  locatedIn?: string | null;

  @Field(() => Float, { nullable: true, description: "Beneficial owners only: the share of ownership, more than 0 and at most 100 (percent)" })
  ownershipPercent?: number | null;

  @Field(() => Boolean, { nullable: true, description: "Beneficial owners only: substantial control of the customer, whatever the share" })
  substantialControl?: boolean | null;
}

@InputType({ description: "A means and source of payment (EO 13984 §1(a)(ii)(B)); the field the type names is required" })
export class PaymentInput {
  @Field(() => PaymentTypeEnum)
  type!: PaymentType;

  @Field(() => String, { nullable: true, description: "The financial institution; up to 200 characters" })
  institution?: string | null;

  @Field(() => String, { nullable: true, description: "CARD only (required): 12-19 digits with a valid check digit; spaces and dashes ignored" })
  cardNumber?: string | null;

  @Field(() => String, { nullable: true, description: "BANK_ACCOUNT (required) or OTHER: an IBAN or the account number, up to 64 characters" })
  accountNumber?: string | null;

  @Field(() => String, { nullable: true, description: "The customer's identifier at the institution; up to 200 characters" })
  customerIdentifier?: string | null;

  @Field(() => [String], { nullable: true, description: "Up to 100 transaction identifiers of up to 200 characters" })
  transactionIds?: string[] | null;

  @Field(() => String, { nullable: true, description: "VIRTUAL_CURRENCY only (required): the wallet address" })
  walletAddress?: string | null;
}

@InputType({ description: "When one of the record's e-mails or phones was verified" })
export class ContactVerificationInput {
  @Field(() => ContactChannelEnum)
  channel!: ContactChannel;

  @Field({ description: "One of the record's emails or phones (compared in canonical form)" })
  value!: string;

  @Field(() => Date, { description: "Not in the future" })
  verifiedAt!: Date;
}

@InputType()
export class CustomerRecordInput {
  @Field(() => ID, { description: "An account of the caller's own (account--<uuid>)" })
  accountId!: string;

  @Field(() => PartyInput)
  customer!: PartyInput;

  @Field(() => [PartyInput], { nullable: true, description: "Up to 50" })
  beneficialOwners?: PartyInput[] | null;

  @Field(() => [PaymentInput], { nullable: true, description: "Up to 20" })
  payments?: PaymentInput[] | null;

  @Field(() => [String], { nullable: true, description: "E-mail addresses used to verify identity, up to 20" })
  emails?: string[] | null;

  @Field(() => [String], { nullable: true, description: "Phone numbers used to verify identity, with their country code (E.164), up to 20" })
  phones?: string[] | null;

  @Field(() => [ContactVerificationInput], { nullable: true, description: "When each e-mail or phone was verified; up to 40" })
  contactVerifications?: ContactVerificationInput[] | null;

  @Field(() => String, { nullable: true, description: "The product the account is for (what a PRODUCT exemption names); 1-100 characters" })
  product?: string | null;
}

@InputType()
export class VerificationCheckInput {
  @Field({ description: "Whose identity was checked: customer, or beneficialOwners[i] (0-based, as in the record)" })
  subject!: string;

  @Field(() => CheckMethodEnum)
  method!: CheckMethod;

  @Field(() => String, { nullable: true, description: "DOCUMENTARY (required): passport, national identity card, …; up to 100 characters" })
  documentType?: string | null;

  @Field(() => String, { nullable: true, description: "DOCUMENTARY (required): up to 64 characters" })
  documentNumber?: string | null;

  @Field(() => String, { nullable: true, description: "DOCUMENTARY (required): ISO 3166-1 alpha-2" })
  issuingCountry?: string | null;

  @Field(() => CalendarDate, { nullable: true, description: "DOCUMENTARY: the document's expiry" })
  expiresOn?: string | null;

  @Field(() => String, { nullable: true, description: "NON_DOCUMENTARY (required): the source consulted; up to 200 characters" })
  source?: string | null;

  @Field(() => CheckResultEnum)
  result!: CheckResult;

  @Field(() => String, { nullable: true, description: "What did not match; up to 2,000 characters" })
  discrepancy?: string | null;

  @Field(() => String, { nullable: true, description: "How the discrepancy was resolved; up to 2,000 characters" })
  resolution?: string | null;

  @Field(() => Date, { nullable: true, description: "When the check was made; now when omitted; not in the future" })
  checkedAt?: Date | null;
}
