import { Field, InputType, registerEnumType } from "type-graphql";
import { IDENTIFIER_TYPES, MAX_IDENTIFIER_LENGTH, type IdentifierType } from "./identifier.canonical.js";

export const IdentifierTypeEnum = Object.fromEntries(IDENTIFIER_TYPES.map((t) => [t, t])) as { [K in IdentifierType]: K };
registerEnumType(IdentifierTypeEnum, {
  name: "IdentifierType",
  description: "What an account identifier is; each type has its written canonical form (docs/api.md, Accounts)",
});

/** An identifier as a client writes it: hashed on arrival, never stored or logged. */
@InputType()
export class IdentifierInput {
  @Field(() => IdentifierTypeEnum)
  type!: IdentifierType;

  @Field({ description: `Up to ${MAX_IDENTIFIER_LENGTH} characters, as written; put in its canonical form, then hashed` })
  value!: string;
}
