import type { GraphQLFieldResolver, GraphQLSchema } from "graphql";
import { badInput } from "../errors.js";
import { malformedTextAt, NOT_WELL_FORMED } from "../text.js";

/**
 * Query and subscription arguments are checked before any resolver reads them: a lone surrogate in a
 * filter, a lookup value or an id is BAD_USER_INPUT naming the argument, never an internal error or a
 * value quietly changed on its way to PostgreSQL. Mutations check their input in their services
 * instead, so that a batch refuses only the item at fault, as a value.
 */
export function refuseMalformedArguments(schema: GraphQLSchema): void {
  const hooks = [
    [schema.getQueryType(), "resolve"],
    [schema.getSubscriptionType(), "subscribe"],
  ] as const;
  for (const [type, hook] of hooks) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      const original = field[hook] as GraphQLFieldResolver<unknown, unknown> | undefined;
      // _service and _entities take no client text: the gateway sends them what subgraphs answered.
      if (!original || field.name.startsWith("_")) continue;
      field[hook] = (root, args, context, info) => {
        const at = malformedTextAt(args);
        if (at !== null) throw badInput(`${at}: ${NOT_WELL_FORMED}`, at);
        return original(root, args, context, info);
      };
    }
  }
}
