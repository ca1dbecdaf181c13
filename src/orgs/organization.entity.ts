import type { Opt } from "@mikro-orm/core";
import { Entity, PrimaryKey, Property } from "@mikro-orm/decorators/legacy";
import { Directive, Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { ORG_KINDS, type OrgKind } from "../auth/viewer.js";

export const OrgKindEnum = Object.fromEntries(ORG_KINDS.map((k) => [k, k])) as { [K in OrgKind]: K };
registerEnumType(OrgKindEnum, { name: "OrgKind", description: "What kind of member an organisation is" });

export const ProvisionedBy = { OPERATOR: "OPERATOR", TOKEN: "TOKEN" } as const;
registerEnumType(ProvisionedBy, {
  name: "ProvisionedBy",
  description: "OPERATOR: registered by a hub operator; TOKEN: first seen in a token its identity provider signed",
});

/** A member of the hub: the directory that sharedWith and referredTo lists must name. */
@Directive(`@key(fields: "id")`)
@ObjectType({ description: "A member organisation of the hub" })
@Entity({ schema: "hub", tableName: "organization" })
export class Organization {
  @Field(() => ID, { description: "Short slug used in tokens and in sharedWith / referredTo lists" })
  @PrimaryKey({ type: "text" })
  id!: string;

  @Field()
  @Property({ type: "text" })
  name!: string;

  @Field(() => OrgKindEnum)
  @Property({ type: "text" })
  kind!: OrgKind;

  @Field(() => ProvisionedBy)
  @Property({ type: "text", fieldName: "provisioned_by" })
  provisionedBy!: keyof typeof ProvisionedBy;

  @Field(() => Date)
  @Property({ type: "Date", fieldName: "created_at", defaultRaw: "now()" })
  createdAt!: Date & Opt;
}
