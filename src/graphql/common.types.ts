import { Directive, Field, ObjectType, registerEnumType } from "type-graphql";
import { TLP_LEVELS, type Tlp } from "../auth/tlp.js";

export const TlpEnum = Object.fromEntries(TLP_LEVELS.map((t) => [t, t])) as { [K in Tlp]: K };
registerEnumType(TlpEnum, {
  name: "TLP",
  description: "Traffic Light Protocol 2.0. AMBER_STRICT is TLP:AMBER+STRICT.",
});

@Directive("@shareable")
@ObjectType({ description: "Why one input item, or one of its fields, was refused" })
export class InputError {
  @Field(() => String, { nullable: true, description: "The field at fault, as a path into the item (e.g. 'value', 'sharedWith[2]')" })
  field?: string | null;

  @Field()
  message!: string;

  @Field({ description: "BAD_USER_INPUT (the default), NOT_FOUND (nothing the caller may see has this id) or FORBIDDEN (seen, but not the caller's to change)" })
  code!: string;

  constructor(message: string, field?: string | null, code: "BAD_USER_INPUT" | "NOT_FOUND" | "FORBIDDEN" = "BAD_USER_INPUT") {
    this.message = message;
    this.field = field ?? null;
    this.code = code;
  }
}

@Directive("@shareable")
@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}
