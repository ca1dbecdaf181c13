import { buildSubgraphSchema, type GraphQLResolverMap } from "@apollo/subgraph";
import {
  getNamedType,
  graphqlSync,
  isLeafType,
  isObjectType,
  Kind,
  parse,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
} from "graphql";
import { badInput } from "../errors.js";
import { requireScope } from "./auth-checker.js";
import type { Context } from "./context.js";

/**
 * The Apollo Federation 2 subgraph contract comes from `@apollo/subgraph` (`_service`, `_entities`,
 * the federation directives). The hub adds rules of its own: a representation must name an entity of
 * this subgraph and carry its key fields as the entity serves them, or it is refused as bad input at
 * its own index instead of failing the whole list; and `_service` is the operators' to read.
 */
export const FEDERATION_LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3",
  import: ["@key", "@shareable", "@external", "@requires", "@provides", "@inaccessible", "@tag", "@interfaceObject"])`;

/**
 * `reference` comes from the caller: its key fields have the shape the entity serves (checked before
 * the resolver runs), their values and anything else are as sent.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ReferenceResolver<TContext> = (reference: any, context: TContext, info: unknown) => unknown;
export type ReferenceResolvers<TContext> = Record<string, { __resolveReference: ReferenceResolver<TContext> }>;
type ResolverMap = Record<string, Record<string, unknown>>;

interface Entity {
  type: GraphQLObjectType;
  /** The field set of each of its `@key` directives. */
  keys: (readonly SelectionNode[])[];
}

/** Object types marked `@key`, the entities this subgraph resolves by reference, with their keys. */
function entityTypes(schema: GraphQLSchema): Map<string, Entity> {
  const entities = new Map<string, Entity>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type)) continue;
    const keys = (type.astNode?.directives ?? [])
      .filter((d) => d.name.value === "key")
      .map((d) => {
        const fields = d.arguments?.find((a) => a.name.value === "fields")?.value;
        const text = fields?.kind === Kind.STRING ? fields.value : "";
        return (parse(`{ ${text} }`).definitions[0] as OperationDefinitionNode).selectionSet.selections;
      });
    if (keys.length) entities.set(type.name, { type, keys });
  }
  return entities;
}

/**
 * Why `value` does not carry this key of `type`, or null. A key field's value must be what the entity
 * serves for it (an ID is a string): a resolver then only ever sees keys of the right shape.
 */
function keyFault(value: unknown, type: GraphQLObjectType, key: readonly SelectionNode[], at: string): string | null {
  for (const selection of key) {
    if (selection.kind !== Kind.FIELD) continue;
    const name = selection.name.value;
    const fieldType = getNamedType(type.getFields()[name]!.type);
    const given = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[name] : undefined;
    const path = `${at}.${name}`;
    if (given === undefined || given === null) return `${path}: missing (a key field of ${type.name})`;
    if (isLeafType(fieldType)) {
      let served = false;
      try {
        served = fieldType.serialize(fieldType.parseValue(given)) === given;
      } catch {
        // not a value of its type
      }
      if (!served) return `${path}: not a ${fieldType.name} as ${type.name} serves it`;
    } else if (isObjectType(fieldType) && selection.selectionSet) {
      const fault = keyFault(given, fieldType, selection.selectionSet.selections, path);
      if (fault) return fault;
    }
  }
  return null;
}

/**
 * An executable subgraph schema from the SDL of a type-graphql schema (printed with its directives),
 * its resolvers and each entity's `__resolveReference`, and its SDL as composition reads it (what
 * `_service { sdl }` answers, written to schema/<name>.graphql).
 */
export function buildSubgraph<TContext extends Pick<Context, "viewer">>(
  sdl: string,
  resolvers: ResolverMap,
  references: ReferenceResolvers<TContext>,
): { schema: GraphQLSchema; sdl: string } {
  const merged: ResolverMap = { ...resolvers };
  for (const [type, reference] of Object.entries(references)) merged[type] = { ...merged[type], ...reference };
  const schema = buildSubgraphSchema([{ typeDefs: parse(`${FEDERATION_LINK}\n\n${sdl}`), resolvers: merged as GraphQLResolverMap<unknown> }]);
  const composed = subgraphSdl(schema); // read before `_service` asks for a scope
  guardRepresentations(schema);
  guardService<TContext>(schema);
  return { schema, sdl: composed };
}

/** Wraps `_entities` so that each representation is checked, and fails or resolves, on its own. */
function guardRepresentations(schema: GraphQLSchema): void {
  const field = schema.getQueryType()?.getFields()._entities;
  if (!field?.resolve) return;
  const entities = entityTypes(schema);
  const resolveAll = field.resolve as GraphQLFieldResolver<unknown, unknown, { representations: unknown[] }>;
  field.resolve = (root, args: { representations: unknown[] }, context, info) =>
    args.representations.map((reference, index) => {
      const at = `representations[${index}]`;
      const typename = (reference as { __typename?: unknown } | null)?.__typename;
      const entity = typeof typename === "string" ? entities.get(typename) : undefined;
      if (!entity) return Promise.reject(badInput(`${at}.__typename: not an entity of this subgraph`, at));
      // Any one of its keys will do; the first one's fault says what is wrong.
      const faults = entity.keys.map((key) => keyFault(reference, entity.type, key, at));
      if (faults.every((fault) => fault !== null)) return Promise.reject(badInput(faults[0]!, at));
      return (resolveAll(root, { representations: [reference] }, context, info) as unknown[])[0];
    });
}

/**
 * `_service { sdl }` only for operators (`admin`): the gateway composes from the checked-in
 * schema/*.graphql and never asks, and a subgraph's whole schema is no member's business.
 */
function guardService<TContext extends Pick<Context, "viewer">>(schema: GraphQLSchema): void {
  const field = schema.getQueryType()!.getFields()._service!;
  const resolve = field.resolve as GraphQLFieldResolver<unknown, TContext>;
  field.resolve = (root, args, context: TContext, info) => {
    requireScope(context, "admin");
    return resolve(root, args, context, info);
  };
}

/** `_service { sdl }` of a schema whose `_service` is not guarded yet. */
function subgraphSdl(schema: GraphQLSchema): string {
  const result = graphqlSync({ schema, source: "{ _service { sdl } }" });
  const sdl = (result.data?._service as { sdl?: string } | undefined)?.sdl;
  if (!sdl) throw new Error(`_service { sdl } answered no SDL: ${JSON.stringify(result.errors)}`);
  return `${sdl.trim()}\n`;
}
