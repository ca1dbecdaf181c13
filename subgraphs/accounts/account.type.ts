import { Directive, Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { InputError, PageInfo } from "../../src/graphql/common.types.js";
import { ACCOUNT_KINDS, ACCOUNT_STATUSES, HOLDER_TYPES, type AccountKind, type AccountStatus, type HolderType } from "./account.entity.js";
import { IDENTIFIER_TYPES, type IdentifierType } from "../../src/identifiers/canonical.js";

const enumOf = <T extends string>(values: readonly T[]) => Object.fromEntries(values.map((v) => [v, v])) as { [K in T]: K };
export const AccountKindEnum = enumOf(ACCOUNT_KINDS);
registerEnumType(AccountKindEnum, { name: "AccountKind" });
export const HolderTypeEnum = enumOf(HOLDER_TYPES);
registerEnumType(HolderTypeEnum, { name: "HolderType" });
export const AccountStatusEnum = enumOf(ACCOUNT_STATUSES);
registerEnumType(AccountStatusEnum, { name: "AccountStatus" });
export const IdentifierTypeEnum = enumOf(IDENTIFIER_TYPES);
registerEnumType(IdentifierTypeEnum, { name: "IdentifierType", description: "What an identifier is; each type has its written canonical form (docs/api.md)" });

@ObjectType({ description: "A keyed hash of one of an account's identifiers: HMAC-SHA-256 under the hub's key; never the value" })
export class IdentifierHash {
  @Field(() => IdentifierTypeEnum)
  type!: IdentifierType;

  @Field({ description: "The hub key the hash was made with" })
  keyId!: string;

  @Field({ description: "The 32-byte HMAC, in lower-case hex" })
  hash!: string;
}

/**
 * An account at a provider. Its provider sees every field; anyone else who may see it (through a flag
 * in force they may see) gets the flag's view: kind, jurisdiction, keyed hashes and flags, plus the
 * provider and external reference when the provider raised such a flag itself.
 */
@Directive(`@key(fields: "id")`)
@ObjectType({ description: "An account at a provider; see docs/api.md for who sees which fields" })
export class Account {
  @Field(() => ID, { description: "account--<uuid>" })
  id!: string;

  /** The stored uuid, for field resolvers. */
  uuid!: string;

  @Field(() => String, { nullable: true, description: "The provider org: shown to the provider, and to whoever sees a flag in force the provider raised on it" })
  provider!: string | null;

  @Field(() => String, { nullable: true, description: "The provider's own reference: shown as `provider` is" })
  externalRef!: string | null;

  @Field(() => AccountKindEnum)
  kind!: AccountKind;

  @Field({ description: "ISO 3166-1 alpha-2" })
  holderJurisdiction!: string;

  @Field(() => HolderTypeEnum, { nullable: true, description: "The provider only" })
  holderType!: HolderType | null;

  @Field(() => Boolean, { nullable: true, description: "EO 13984 §5(k); the provider only" })
  usPerson!: boolean | null;

  @Field(() => AccountStatusEnum, { nullable: true, description: "The provider only" })
  status!: AccountStatus | null;

  @Field(() => Date, { nullable: true, description: "The provider only" })
  openedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: "The provider only; set while CLOSED" })
  closedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: "The provider only" })
  createdAt!: Date | null;

  @Field(() => Date, { nullable: true, description: "The provider only" })
  modifiedAt!: Date | null;
}

@ObjectType()
export class AccountEdge {
  @Field()
  cursor!: string;

  @Field(() => Account)
  node!: Account;
}

@ObjectType()
export class AccountConnection {
  @Field(() => [AccountEdge])
  edges!: AccountEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  /** Resolved by AccountConnectionResolver.totalCount, only when asked for. */
  count!: () => Promise<number>;
}

@ObjectType({ description: "The outcome for one input item, at the same index as the input" })
export class AccountItemResult {
  @Field(() => Int)
  index!: number;

  @Field(() => Account, { nullable: true })
  account!: Account | null;

  @Field(() => InputError, { nullable: true })
  error!: InputError | null;

  @Field({ description: "False when the item was identical to the stored account (nothing written, no event), and for a refused item" })
  changed!: boolean;
}

@ObjectType()
export class RegisterAccountsResult {
  @Field(() => [AccountItemResult], { description: "One per input item, in input order" })
  results!: AccountItemResult[];

  @Field(() => Int, { description: "Items accepted: new, updated, or identical to what is stored" })
  registered!: number;

  @Field(() => Int, { description: "Accepted items identical to the stored account" })
  unchanged!: number;

  @Field(() => Int)
  failed!: number;
}
