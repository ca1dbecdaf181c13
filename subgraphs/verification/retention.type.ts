import { Field, Int, ObjectType } from "type-graphql";

@ObjectType({ description: "What a purge removed: closed records past their retention date, with their checks, index entries, status history and access events" })
export class PurgeResult {
  @Field(() => Int, { description: "Customer records removed" })
  purged!: number;

  @Field(() => Int, { description: "Access events of those accounts removed" })
  accessEventsPurged!: number;

  @Field(() => Int, { description: "Records past their retention date kept because a legal hold is on them" })
  heldBack!: number;
}
