import { Field, InputType } from "type-graphql";
import type { OrgKind } from "../../src/auth/viewer.js";
import { OrgKindEnum } from "../../src/orgs/organization.entity.js";

@InputType()
export class OrganizationInput {
  @Field({ description: "Slug: lower-case letters, digits and '-', 1-63 characters" })
  id!: string;

  @Field({ description: "Display name, 1-200 characters" })
  name!: string;

  @Field(() => OrgKindEnum)
  kind!: OrgKind;
}
