import { Field, ID, InputType } from "type-graphql";
import { DisclosureStatusEnum, type DisclosureStatus } from "./disclosure.type.js";

@InputType({ description: "Which disclosure requests: every field given must hold" })
export class DisclosureFilter {
  @Field(() => DisclosureStatusEnum, { nullable: true, description: "APPROVED: approvals still in force; EXPIRED: approvals past their time" })
  status?: DisclosureStatus | null;

  @Field(() => ID, { nullable: true, description: "account--<uuid>" })
  accountId?: string | null;
}
