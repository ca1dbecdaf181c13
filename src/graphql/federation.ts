import { makeExecutableSchema } from "@graphql-tools/schema";
import { GraphQLScalarType, isObjectType, valueFromASTUntyped, type GraphQLFieldResolver, type GraphQLSchema } from "graphql";
import { badInput } from "../errors.js";

/**
 * The Apollo Federation 2 subgraph contract, built here rather than with `@apollo/subgraph`, whose
 * runtime depends on an Elastic-2.0 package that a hosted service may not run. A subgraph answers
 * `_service { sdl }` (its SDL, for composition tools) and `_entities(representations:)` (the gateway's
 * fetch of entities by key), each entity through its type's `__resolveReference`.
 */
export const FEDERATION_LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3",
  import: ["@key", "@shareable", "@external", "@requires", "@provides", "@inaccessible", "@tag", "@interfaceObject"])`;

const FEDERATION_DEFINITIONS = `
scalar _Any
scalar federation__FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
directive @key(fields: federation__FieldSet!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
directive @shareable repeatable on OBJECT | FIELD_DEFINITION
directive @external on OBJECT | FIELD_DEFINITION
directive @requires(fields: federation__FieldSet!) on FIELD_DEFINITION
directive @provides(fields: federation__FieldSet!) on FIELD_DEFINITION
directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION
directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION
directive @interfaceObject on OBJECT
type _Service { sdl: String! }
`;

const AnyScalar = new GraphQLScalarType({
  name: "_Any",
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast) => valueFromASTUntyped(ast),
});

/** `reference` comes from the caller as sent: each resolver checks the fields it reads. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ReferenceResolver<TContext> = (reference: any, context: TContext, info: unknown) => unknown;
export type ReferenceResolvers<TContext> = Record<string, { __resolveReference: ReferenceResolver<TContext> }>;
type ResolverMap = Record<string, unknown>;

/** Object types marked `@key`: the entities this subgraph resolves by reference. */
function entityTypes(schema: GraphQLSchema): string[] {
  return Object.values(schema.getTypeMap())
    .filter((t) => isObjectType(t) && t.astNode?.directives?.some((d) => d.name.value === "key"))
    .map((t) => t.name);
}

/**
 * An executable subgraph schema from the SDL of `schema` (type-graphql's, printed with its
 * directives) and its resolvers, plus the federation fields.
 */
export function buildSubgraph<TContext>(
  sdl: string,
  schema: GraphQLSchema,
  resolvers: ResolverMap,
  references: ReferenceResolvers<TContext>,
): GraphQLSchema {
  const entities = entityTypes(schema);
  // Which entity type each resolved object is, for _Entity's type resolution.
  const typeOf = new WeakMap<object, string>();

  const entitiesResolver: GraphQLFieldResolver<unknown, TContext, { representations: Record<string, unknown>[] }> = (_root, { representations }, context, info) =>
    // One promise per item: an entity that fails becomes an error at its own index, not the list's.
    representations.map(async (reference, index) => {
      const typename = reference?.__typename;
      if (typeof typename !== "string" || !entities.includes(typename)) {
        throw badInput(`representations[${index}].__typename: not an entity of this subgraph`, `representations[${index}]`);
      }
      const resolve = references[typename]?.__resolveReference;
      const value = resolve ? await resolve(reference, context, info) : reference;
      if (value && typeof value === "object") typeOf.set(value, typename);
      return value;
    });

  const queryType = schema.getQueryType()?.name ?? "Query";
  const typeDefs = [
    FEDERATION_DEFINITIONS,
    sdl,
    entities.length
      ? `union _Entity = ${entities.join(" | ")}\nextend type ${queryType} { _entities(representations: [_Any!]!): [_Entity]! _service: _Service! }`
      : `extend type ${queryType} { _service: _Service! }`,
  ];
  const query = { ...((resolvers[queryType] as ResolverMap) ?? {}), _service: () => ({ sdl: subgraphSdl(sdl) }), ...(entities.length ? { _entities: entitiesResolver } : {}) };
  const merged: ResolverMap = { ...resolvers, [queryType]: query, _Any: AnyScalar };
  if (entities.length) {
    merged._Entity = { __resolveType: (value: object & { __typename?: string }) => typeOf.get(value) ?? value.__typename };
  }
  return makeExecutableSchema({ typeDefs, resolvers: merged as never });
}

/** The subgraph's SDL as composition reads it (schema/<name>.graphql and `_service { sdl }`). */
export function subgraphSdl(sdl: string): string {
  return `${FEDERATION_LINK}\n\n${sdl.trim()}\n`;
}
