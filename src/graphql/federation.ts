import { buildSubgraphSchema, type GraphQLResolverMap } from "@apollo/subgraph";
import { graphqlSync, isObjectType, parse, type GraphQLFieldResolver, type GraphQLSchema } from "graphql";
import { badInput } from "../errors.js";

/**
 * The Apollo Federation 2 subgraph contract comes from `@apollo/subgraph` (`_service`, `_entities`,
 * the federation directives). The hub adds one rule of its own: a representation must name an entity
 * of this subgraph, or it is refused as bad input at its own index instead of failing the whole list.
 */
export const FEDERATION_LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3",
  import: ["@key", "@shareable", "@external", "@requires", "@provides", "@inaccessible", "@tag", "@interfaceObject"])`;

/** `reference` comes from the caller as sent: each resolver checks the fields it reads. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ReferenceResolver<TContext> = (reference: any, context: TContext, info: unknown) => unknown;
export type ReferenceResolvers<TContext> = Record<string, { __resolveReference: ReferenceResolver<TContext> }>;
type ResolverMap = Record<string, Record<string, unknown>>;

/** Object types marked `@key`: the entities this subgraph resolves by reference. */
function entityTypes(schema: GraphQLSchema): Set<string> {
  return new Set(
    Object.values(schema.getTypeMap())
      .filter((t) => isObjectType(t) && t.astNode?.directives?.some((d) => d.name.value === "key"))
      .map((t) => t.name),
  );
}

/**
 * An executable subgraph schema from the SDL of a type-graphql schema (printed with its directives),
 * its resolvers and each entity's `__resolveReference`.
 */
export function buildSubgraph<TContext>(sdl: string, resolvers: ResolverMap, references: ReferenceResolvers<TContext>): GraphQLSchema {
  const merged: ResolverMap = { ...resolvers };
  for (const [type, reference] of Object.entries(references)) merged[type] = { ...merged[type], ...reference };
  const schema = buildSubgraphSchema([{ typeDefs: parse(`${FEDERATION_LINK}\n\n${sdl}`), resolvers: merged as GraphQLResolverMap<unknown> }]);
  guardRepresentations(schema);
  return schema;
}

/** Wraps `_entities` so that each representation is checked, and fails or resolves, on its own. */
function guardRepresentations(schema: GraphQLSchema): void {
  const field = schema.getQueryType()?.getFields()._entities;
  if (!field?.resolve) return;
  const entities = entityTypes(schema);
  const resolveAll = field.resolve as GraphQLFieldResolver<unknown, unknown, { representations: unknown[] }>;
  field.resolve = (root, args: { representations: unknown[] }, context, info) =>
    args.representations.map((reference, index) => {
      const typename = (reference as { __typename?: unknown } | null)?.__typename;
      if (typeof typename !== "string" || !entities.has(typename)) {
        return Promise.reject(badInput(`representations[${index}].__typename: not an entity of this subgraph`, `representations[${index}]`));
      }
      return (resolveAll(root, { representations: [reference] }, context, info) as unknown[])[0];
    });
}

/** The subgraph's SDL as composition reads it: `_service { sdl }`, written to schema/<name>.graphql. */
export function subgraphSdl(schema: GraphQLSchema): string {
  const result = graphqlSync({ schema, source: "{ _service { sdl } }" });
  const sdl = (result.data?._service as { sdl?: string } | undefined)?.sdl;
  if (!sdl) throw new Error(`_service { sdl } answered no SDL: ${JSON.stringify(result.errors)}`);
  return `${sdl.trim()}\n`;
}
