import { GraphQLJSONObject } from "graphql-scalars";
import { Field, Int, ObjectType } from "type-graphql";
import { PageInfo } from "../../src/graphql/common.types.js";

@ObjectType({ description: "A page of stored STIX objects, oldest added first" })
export class StixObjectsPage {
  @Field(() => GraphQLJSONObject, { description: "A STIX 2.1 bundle of the page's objects, plus the TLP marking definitions they refer to" })
  bundle!: Record<string, unknown>;

  @Field(() => Int, { description: "Stored objects in this page (the marking definitions added are not counted)" })
  count!: number;

  @Field(() => PageInfo, { description: "Pass endCursor as `after` for the next page" })
  pageInfo!: PageInfo;
}
