import { Field, ObjectType } from "type-graphql";
import type { OrgKind } from "../../src/auth/viewer.js";
import { InputError } from "../../src/graphql/common.types.js";
import { Organization, OrgKindEnum } from "../../src/orgs/organization.entity.js";

@ObjectType({ description: "The caller, as its token says" })
export class ViewerInfo {
  @Field()
  org!: string;

  @Field(() => OrgKindEnum)
  orgKind!: OrgKind;

  @Field(() => [String])
  scopes!: string[];

  @Field()
  expiresAt!: Date;
}

@ObjectType()
export class OrganizationResult {
  @Field(() => Organization, { nullable: true })
  organization!: Organization | null;

  @Field(() => InputError, { nullable: true })
  error!: InputError | null;
}
