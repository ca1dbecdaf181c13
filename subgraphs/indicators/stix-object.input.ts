import { Field, InputType } from "type-graphql";
import type { Tlp } from "../../src/auth/tlp.js";
import { TlpEnum } from "../../src/graphql/common.types.js";

@InputType({ description: "Which stored STIX objects; every condition given must hold" })
export class StixObjectsFilter {
  @Field(() => [String], { nullable: true, description: "STIX types, such as indicator or malware" })
  types?: string[] | null;

  @Field(() => [String], { nullable: true, description: "STIX ids" })
  ids?: string[] | null;

  @Field(() => [TlpEnum], { nullable: true, description: "The levels the objects are held at" })
  tlp?: Tlp[] | null;

  @Field(() => String, { nullable: true, description: "Only this org's own copies" })
  owner?: string | null;

  @Field(() => Date, { nullable: true, description: "Added to the hub strictly after this instant" })
  addedAfter?: Date | null;

  @Field(() => [String], { nullable: true, description: "'last' (the default), 'first', 'all', or STIX timestamps of the versions wanted" })
  versions?: string[] | null;
}
