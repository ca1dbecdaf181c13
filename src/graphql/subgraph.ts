import { buildSubgraphSchema, printSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper/resolverMap.js";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import type { EntityClass } from "@mikro-orm/core";
import { GraphQLDateTime } from "graphql-scalars";
import { parse, type GraphQLSchema } from "graphql";
import { buildSchema, createResolversMap, type NonEmptyArray } from "type-graphql";
import type { MigrationSet } from "../db/orm.js";
import { scopeAuthChecker } from "./auth-checker.js";
import type { Context } from "./context.js";

/** Everything the kernel needs to know to run, migrate, compose and serve one subgraph. */
export interface SubgraphDefinition {
  name: string;
  /** MikroORM entities of this subgraph's own Postgres schema. */
  entities: EntityClass<unknown>[];
  resolvers: NonEmptyArray<Function>;
  orphanedTypes?: Function[];
  /** `__resolveReference` per entity type; each does its own access check. */
  references?: GraphQLResolverMap<Context>;
  migrations: MigrationSet;
}

const FEDERATION_LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3",
  import: ["@key", "@shareable", "@external", "@requires", "@provides", "@inaccessible", "@tag", "@interfaceObject"])`;

/**
 * type-graphql insists on a PubSub once a schema has subscriptions. The hub's subscriptions read the
 * event log through their own `subscribe` functions, so topic-based PubSub is refused outright.
 */
const NO_PUBSUB = {
  publish(): never {
    throw new Error("subscriptions read the hub's event log; publish by appending events in a transaction");
  },
  subscribe(): never {
    throw new Error("subscriptions read the hub's event log; give the @Subscription a subscribe function");
  },
};

/** The type-graphql schema of a subgraph, made into an Apollo Federation 2 subgraph schema. */
export async function buildFederatedSchema(def: SubgraphDefinition): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: def.resolvers,
    orphanedTypes: def.orphanedTypes,
    authChecker: scopeAuthChecker,
    authMode: "error",
    scalarsMap: [{ type: Date, scalar: GraphQLDateTime }],
    pubSub: NO_PUBSUB,
    validate: false, // inputs are validated by each service, which names the item and field at fault
    skipCheck: true,
  });
  const resolvers = createResolversMap(schema) as GraphQLResolverMap<Context>;
  for (const [type, reference] of Object.entries(def.references ?? {})) {
    resolvers[type] = { ...(resolvers[type] as object), ...(reference as object) } as never;
  }
  return buildSubgraphSchema({
    typeDefs: parse(`${FEDERATION_LINK}\n${printSchemaWithDirectives(schema)}`),
    resolvers: resolvers as GraphQLResolverMap<unknown>,
  });
}

/** The subgraph's SDL as composition reads it (schema/<name>.graphql). */
export function printSdl(schema: GraphQLSchema): string {
  return `${printSubgraphSchema(schema).trim()}\n`;
}
