import { Field, Int, ObjectType } from "type-graphql";

@ObjectType({ description: "The result of walking a provider's audit trail from its first link" })
export class AuditChainReport {
  @Field({ description: "True when every link holds and the chain reaches its recorded head" })
  ok!: boolean;

  @Field(() => Int, { description: "Links checked before the first broken one (all of them when ok)" })
  checked!: number;

  @Field(() => String, { nullable: true, description: "The first link that does not hold ('seq N'), or null" })
  firstBroken!: string | null;
}
