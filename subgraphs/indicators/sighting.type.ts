import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import type { Tlp } from "../../src/auth/tlp.js";
import { InputError, TlpEnum } from "../../src/graphql/common.types.js";

@ObjectType({ description: "A STIX 2.1 sighting: an org saw an indicator, `count` times between firstSeen and lastSeen" })
export class Sighting {
  @Field(() => ID, { description: "STIX id: sighting--<uuid>" })
  id!: string;

  @Field(() => ID, { description: "The sighted indicator's STIX id (sighting_of_ref)" })
  indicatorId!: string;

  @Field({ description: "The reporting org" })
  owner!: string;

  @Field(() => Int, { nullable: true, description: "Times seen; absent when an imported STIX sighting did not say" })
  count!: number | null;

  @Field()
  firstSeen!: Date;

  @Field()
  lastSeen!: Date;

  @Field(() => TlpEnum)
  tlp!: Tlp;

  @Field(() => [String], { description: "Orgs the reporter shared this sighting with" })
  sharedWith!: string[];

  @Field()
  createdAt!: Date;
}

@ObjectType()
export class ReportSightingResult {
  @Field(() => Sighting, { nullable: true, description: "The stored sighting; null when refused" })
  sighting!: Sighting | null;

  @Field(() => [InputError], { description: "Why it was refused, one per field at fault; empty when stored" })
  errors!: InputError[];
}

@ObjectType({ description: "The sightings of an indicator (of its STIX id, whichever org's copy) that the viewer may see" })
export class SightingSummary {
  @Field(() => Float, { description: "The sum of their counts (a Float: it can pass 2^31)" })
  count!: number;

  @Field(() => Int, { description: "How many sightings were reported" })
  sightings!: number;

  @Field(() => [String], { description: "The reporting orgs, sorted" })
  orgs!: string[];

  @Field(() => Date, { nullable: true, description: "The earliest firstSeen; null without sightings" })
  firstSeen!: Date | null;

  @Field(() => Date, { nullable: true, description: "The latest lastSeen; null without sightings" })
  lastSeen!: Date | null;
}
