import { Arg, Args, ArgsType, Authorized, Ctx, Field, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../src/graphql/context.js";
import { LookupTypeEnum, VerificationStatusEnum, type LookupType, type VerificationStatus } from "./record.enums.js";
import { CustomerRecordInput, PartyInput, VerificationCheckInput } from "./record.input.js";
import { loadVerificationStatus } from "./record.reference.js";
import { RecordService } from "./record.service.js";
import { AccountRef, CustomerRecord, CustomerRecordResult, ReverificationConnection } from "./record.type.js";

@ArgsType()
class PageArgs {
  @Field(() => Int, { nullable: true, description: "Page size, 1-500 (default 50)" })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "endCursor of the previous page" })
  after?: string | null;
}

/**
 * Each change answers with the whole record, decrypted: a change needs read as well as write, so that
 * a write-only token (an ingestion job) cannot read records back through its own mutations.
 */
const WRITE = ["verification:read", "verification:write"];

@Resolver(() => CustomerRecord)
export class RecordResolver {
  @Query(() => CustomerRecord, {
    nullable: true,
    description: "The customer record of an account: the provider's own (verification:read), or one an approved disclosure grants the agency (verification:disclose). Every read is audited",
  })
  customerRecord(@Arg("accountId", () => ID) accountId: string, @Ctx() ctx: Context): Promise<CustomerRecord | null> {
    return new RecordService(ctx).byAccount(accountId);
  }

  @Authorized("verification:read")
  @Query(() => [CustomerRecord], { description: "Your own records holding exactly this value (compared in canonical form, through a keyed blind index); at most 100. Audited" })
  customerRecordsByIdentifier(@Arg("type", () => LookupTypeEnum) type: LookupType, @Arg("value") value: string, @Ctx() ctx: Context): Promise<CustomerRecord[]> {
    return new RecordService(ctx).byIdentifier(type, value);
  }

  @Authorized("verification:read")
  @Query(() => ReverificationConnection, { description: "Your VERIFIED records whose re-verification is due (CIP_REVERIFY_AFTER_DAYS after verification), the longest overdue first" })
  dueForReverification(@Args() { first, after }: PageArgs, @Ctx() ctx: Context): Promise<ReverificationConnection> {
    return new RecordService(ctx).dueForReverification(first, after);
  }

  @Authorized(WRITE)
  @Mutation(() => CustomerRecordResult, { description: "Opens the customer record of an account of yours (one per account), PENDING verification. Needs verification:read and verification:write, as every change of a record (each answers with the record)" })
  openCustomerRecord(@Arg("input", () => CustomerRecordInput) input: CustomerRecordInput, @Ctx() ctx: Context): Promise<CustomerRecordResult> {
    return new RecordService(ctx).open(input);
  }

  @Authorized(WRITE)
  @Mutation(() => CustomerRecordResult, { description: "Records a documentary or non-documentary check of the customer or a beneficial owner" })
  addVerificationCheck(
    @Arg("recordId", () => ID) recordId: string,
    @Arg("input", () => VerificationCheckInput) input: VerificationCheckInput,
    @Ctx() ctx: Context,
  ): Promise<CustomerRecordResult> {
    return new RecordService(ctx).addCheck(recordId, input);
  }

  @Authorized(WRITE)
  @Mutation(() => CustomerRecordResult, { description: "Moves the record through the verification workflow (see VerificationStatus); VERIFIED needs a passing check of each foreign party. The reason is sealed" })
  setVerificationStatus(
    @Arg("recordId", () => ID) recordId: string,
    @Arg("status", () => VerificationStatusEnum) status: VerificationStatus,
    @Arg("reason") reason: string,
    @Ctx() ctx: Context,
  ): Promise<CustomerRecordResult> {
    return new RecordService(ctx).setStatus(recordId, status, reason);
  }

  @Authorized(WRITE)
  @Mutation(() => CustomerRecordResult, { description: "Replaces the beneficial owners (up to 50) and re-opens verification: VERIFIED goes back to PENDING" })
  updateBeneficialOwners(
    @Arg("recordId", () => ID) recordId: string,
    @Arg("owners", () => [PartyInput]) owners: PartyInput[],
    @Ctx() ctx: Context,
  ): Promise<CustomerRecordResult> {
    return new RecordService(ctx).setBeneficialOwners(recordId, owners);
  }
}

@Resolver(() => AccountRef)
export class AccountVerificationResolver {
  @FieldResolver(() => VerificationStatusEnum, {
    nullable: true,
    description: "The status of the account's customer record, to its provider (verification:read) or an agency with an approved disclosure; null to anyone else and where there is no record",
  })
  verificationStatus(@Root() account: AccountRef, @Ctx() ctx: Context): Promise<VerificationStatus | null> {
    return loadVerificationStatus(ctx, account.id);
  }
}
