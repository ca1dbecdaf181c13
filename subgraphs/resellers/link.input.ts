import { Field, ID, InputType } from "type-graphql";

@InputType()
export class ResellerLinkInput {
  @Field(() => ID, { description: "account--<uuid> of a RESELLER account of yours" })
  parentAccountId!: string;

  @Field(() => ID, { description: "account--<uuid> of an account of yours, provided through the parent; it may have no other active parent" })
  childAccountId!: string;

  @Field(() => Date, { nullable: true, description: "Since when; not in the future; now when omitted" })
  since?: Date | null;

  @Field(() => String, { nullable: true, description: "The member RESELLER org that operates the parent account: it then sees the accounts below it" })
  operatorOrg?: string | null;
}
