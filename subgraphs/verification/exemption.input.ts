import { Field, InputType } from "type-graphql";
import { CalendarDate } from "./date.scalar.js";
import { AccountKindEnum, ExemptionScopeEnum, type ExemptAccountKind, type ExemptionScope } from "./exemption.type.js";

@InputType({ description: "An exemption (EO 13984 §1(c)) granted to the provider, as the provider records it" })
export class ExemptionInput {
  @Field(() => ExemptionScopeEnum, { description: "What it covers: every account of yours, the accounts of one kind, or the accounts of one product" })
  scope!: ExemptionScope;

  @Field(() => AccountKindEnum, { nullable: true, description: "With scope ACCOUNT_KIND (required there, refused otherwise)" })
  accountKind?: ExemptAccountKind | null;

  @Field(() => String, { nullable: true, description: "With scope PRODUCT (required there, refused otherwise): the product as records name it, 1-100 characters" })
  product?: string | null;

  @Field({ description: "Why it was granted, e.g. the approved abuse deterrence programme and its reference; 1-2000 characters" })
  basis!: string;

  @Field(() => CalendarDate, { description: "The day it took effect (UTC); not after today" })
  grantedOn!: string;

  @Field(() => CalendarDate, { description: "The first day (UTC) it no longer covers anything; after grantedOn" })
  expiresOn!: string;
}
