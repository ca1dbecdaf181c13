import { printSchemaWithDirectives } from "@graphql-tools/utils";
import type { EntityClass } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { GraphQLDateTime } from "graphql-scalars";
import type { Router } from "express";
import type { GraphQLSchema } from "graphql";
import { buildSchema, createResolversMap, type NonEmptyArray } from "type-graphql";
import type { MigrationSet } from "../db/orm.js";
import type { ProjectionDefinition } from "../events/projection.js";
import { scopeAuthChecker } from "./auth-checker.js";
import type { Viewer } from "../auth/viewer.js";
import type { Context, HubServices } from "./context.js";
import { buildSubgraph, type ReferenceResolvers } from "./federation.js";
import { refuseMalformedArguments } from "./well-formed.js";

/** Everything the kernel needs to know to run, migrate, compose and serve one subgraph. */
export interface SubgraphDefinition {
  name: string;
  /** MikroORM entities of this subgraph's own Postgres schema. */
  entities: EntityClass<unknown>[];
  resolvers: NonEmptyArray<Function>;
  orphanedTypes?: Function[];
  /** `__resolveReference` per entity type; each does its own access check. */
  references?: ReferenceResolvers<Context>;
  migrations: MigrationSet;
  /** Views of other subgraphs' data, kept from the event log while the subgraph runs. */
  projections?: ProjectionDefinition[];
  /**
   * What the hub's hourly prune timer does for this subgraph (verification: the retention purge),
   * answering counts of what it removed, by kind.
   */
  prune?: (em: EntityManager, hub: HubServices) => Promise<Record<string, number>>;
  /** HTTP routes of the subgraph's own beside /graphql (the indicators' TAXII server), mounted at `router`. */
  routes?: (router: Router, kit: SubgraphRouteKit) => void;
}

/** What a subgraph's own routes get: the same token check and per-request context as GraphQL. */
export interface SubgraphRouteKit {
  hub: HubServices;
  /** The viewer of an Authorization header; throws an UNAUTHENTICATED GraphQLError naming why not. */
  authenticate(header: string | undefined | null): Promise<Viewer>;
  contextFor(viewer: Viewer, requestId?: unknown): Promise<Context>;
}

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

export interface BuiltSubgraph {
  /** Executable: type-graphql's resolvers plus `_service` and `_entities`. */
  schema: GraphQLSchema;
  /** As composition reads it (schema/<name>.graphql). */
  sdl: string;
}

/** The type-graphql schema of a subgraph, made into an Apollo Federation 2 subgraph. */
export async function buildFederatedSchema(def: SubgraphDefinition): Promise<BuiltSubgraph> {
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
  const built = buildSubgraph(printSchemaWithDirectives(schema), createResolversMap(schema) as Record<string, Record<string, unknown>>, def.references ?? {});
  refuseMalformedArguments(built.schema);
  return built;
}
