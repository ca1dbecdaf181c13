import { ArgsType, Field, ID, Int } from "type-graphql";
import type { Tlp } from "../../src/auth/tlp.js";
import { TlpEnum } from "../../src/graphql/common.types.js";

@ArgsType()
export class ReportSightingArgs {
  @Field(() => ID, { description: "The sighted indicator: indicator--<uuid>, one the reporter may see" })
  indicatorId!: string;

  @Field(() => Int, { description: "Times seen, 1-999999999" })
  count!: number;

  @Field({ description: "Not in the future" })
  firstSeen!: Date;

  @Field({ description: "At or after firstSeen, not in the future" })
  lastSeen!: Date;

  @Field(() => TlpEnum, {
    defaultValue: "GREEN",
    description: "GREEN by default: members learn that the indicator is live; mark it AMBER or RED when who saw it must stay close",
  })
  tlp!: Tlp;

  @Field(() => [String], { nullable: true, description: "Member org ids that may see an AMBER or RED sighting (up to 100)" })
  sharedWith?: string[] | null;
}
