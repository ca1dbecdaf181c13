import { isUtf8 } from "node:buffer";
import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { expressMiddleware } from "@as-integrations/express5";
import type { MikroORM } from "@mikro-orm/postgresql";
import express, { type ErrorRequestHandler } from "express";
import { execute, GraphQLError, parse, specifiedRules, subscribe, validate, type ExecutionArgs } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import type { TokenVerifier } from "../auth/jwt.js";
import type { Viewer } from "../auth/viewer.js";
import { createOrm } from "../db/orm.js";
import { ProjectionRunner } from "../events/projection.js";
import { errorBody, formatClientError, maskedGraphQLError } from "../errors.js";
import { closeWhenTokenExpires, createHttpServer, isRequestId, listenForGraphQL } from "../net.js";
import { idempotencyPlugin } from "./idempotency.js";
import { oversizedList, subgraphMaxTokens, subgraphValidationRules } from "./limits.js";
import { Organization } from "../orgs/organization.entity.js";
import type { Context, HubServices } from "./context.js";
import { buildFederatedSchema, type SubgraphDefinition } from "./subgraph.js";

export interface RunningSubgraph {
  name: string;
  url: string;
  orm: MikroORM;
  close(): Promise<void>;
}

export interface SubgraphServerOptions {
  host: string;
  port: number;
  databaseUrl: string;
  verifier: TokenVerifier;
}

const NOT_UTF8 = "encoding.not-utf8";

/**
 * Serves one subgraph: GraphQL over HTTP and graphql-ws on /graphql, and /healthz. Every operation,
 * `_service` and `_entities` included, needs a valid token: the subgraph verifies it again whatever
 * the gateway did, so nothing reachable trusts an unsigned header.
 */
export async function startSubgraphServer(
  def: SubgraphDefinition,
  hub: HubServices,
  options: SubgraphServerOptions,
): Promise<RunningSubgraph> {
  const { config } = hub;
  const log = hub.log.child({ subgraph: def.name });
  // With introspection off, no error may name what introspection would (suggestions of schema names).
  const hideSchemaDetails = config.server.NODE_ENV === "production";
  const orm = await createOrm(options.databaseUrl, [...def.entities, Organization], config.database.DB_POOL_MAX);
  const { schema } = await buildFederatedSchema(def);
  const projections = new Map<string, ProjectionRunner>();
  for (const definition of def.projections ?? []) {
    const runner = new ProjectionRunner(definition, orm, hub.events, log);
    await runner.start();
    projections.set(definition.name, runner);
  }

  /** `requestId`: the gateway's x-request-id when it looks like one, so both log lines share it. */
  async function contextFor(viewer: Viewer, requestId?: unknown): Promise<Context> {
    const em = orm.em.fork();
    await hub.orgs.provision(em, viewer);
    const id = isRequestId(requestId) ? requestId : randomUUID();
    return { viewer, em, hub, requestId: id, loaders: new Map(), projections };
  }

  async function authenticate(header: string | undefined | null): Promise<Viewer> {
    const verified = await options.verifier.check(header);
    if (verified.ok) return verified.viewer;
    throw new GraphQLError(verified.reason, { extensions: { code: "UNAUTHENTICATED", http: { status: 401 } } });
  }

  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  const httpServer: Server = createHttpServer(config.http, app);

  const wsServer = new WebSocketServer({ server: httpServer, path: "/graphql", maxPayload: config.limits.MAX_BODY_BYTES });
  const rules = [...specifiedRules, ...subgraphValidationRules(config.limits)];
  const maxTokens = subgraphMaxTokens(config.limits);
  const maxListValues = config.limits.MAX_LIST_VALUES;
  const listTooLong = (args: ExecutionArgs) => oversizedList(args.schema, args.document, args.variableValues, maxListValues);
  const wsCleanup = useServer<Record<string, unknown>, { viewer?: Viewer; cancelExpiry?: () => void }>(
    {
      schema,
      parse: (source) => parse(source, { maxTokens }),
      validate: (schemaToCheck, document) => validate(schemaToCheck, document, rules),
      execute: (args) => {
        const tooLong = listTooLong(args);
        return tooLong ? { errors: [tooLong] } : execute(args);
      },
      subscribe: (args) => {
        const tooLong = listTooLong(args);
        return tooLong ? { errors: [tooLong] } : subscribe(args);
      },
      onConnect: async (ctx) => {
        const verified = await options.verifier.check(ctx.connectionParams?.authorization);
        if (!verified.ok) {
          ctx.extra.socket.close(4403, `Forbidden: ${verified.reason}`.slice(0, 120));
          return false;
        }
        ctx.extra.viewer = verified.viewer;
        // As at the gateway: nothing runs on this socket once its token has expired.
        ctx.extra.cancelExpiry = closeWhenTokenExpires(ctx.extra.socket, verified.viewer.validUntilMs);
        return true;
      },
      onClose: (ctx) => ctx.extra.cancelExpiry?.(),
      context: (ctx) => contextFor(ctx.extra.viewer!),
      // The same masking as over HTTP: expected errors as they are, anything else with a correlation id.
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => maskedGraphQLError(e, log, hideSchemaDetails)),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors?.length ? { ...result, errors: result.errors.map((e) => maskedGraphQLError(e, log, hideSchemaDetails)) } : undefined,
    },
    wsServer,
  );

  const requestLog: ApolloServerPlugin<Context> = {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      return {
        async willSendResponse({ response, operationName }) {
          const errors = response.body.kind === "single" ? response.body.singleResult.errors?.length ?? 0 : 0;
          log.info(
            {
              org: contextValue.viewer?.org,
              requestId: contextValue.requestId,
              operation: operationName ?? null,
              ms: Math.round((performance.now() - started) * 10) / 10,
              outcome: errors ? "errors" : "ok",
              errors,
            },
            "request",
          );
        },
      };
    },
  };

  const apollo = new ApolloServer<Context>({
    schema,
    introspection: !hideSchemaDetails,
    includeStacktraceInErrorResponses: false,
    validationRules: subgraphValidationRules(config.limits),
    parseOptions: { maxTokens },
    csrfPrevention: true,
    // Compact JSON: Apollo Server indents its answers by default, which costs time and bytes on every
    // answer the gateway then reads (a 1,000-item answer is twice the size, indented).
    stringifyResult: (result) => JSON.stringify(result),
    // The process's stop (app/signals.ts) stops this server in its turn. Apollo's own SIGTERM handler
    // (on outside NODE_ENV=test) stopped it at once and then signalled the process again, which ended
    // every other part mid-drain with exit code 1.
    stopOnTerminationSignals: false,
    // Apollo prefixes errors thrown while building the context; the reason alone is clearer.
    formatError: (formatted, err) =>
      formatClientError({ ...formatted, message: formatted.message.replace(/^Context creation failed: /, "") }, err, log, hideSchemaDetails),
    plugins: [
      // On stop: no new connections, the requests in hand answered for up to DRAIN_TIMEOUT_SECONDS.
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.http.DRAIN_TIMEOUT_SECONDS * 1000 }),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginCacheControlDisabled(), // no HTTP caching of GraphQL answers, and a hook per field saved
      requestLog,
      idempotencyPlugin({ subgraph: def.name, windowSeconds: config.idempotency.IDEMPOTENCY_WINDOW_SECONDS, log }),
      {
        // Lists over MAX_LIST_VALUES: refused before execution, as at the gateway.
        async requestDidStart() {
          return {
            async didResolveOperation({ schema: resolved, document, request }) {
              const tooLong = oversizedList(resolved, document, request.variables, maxListValues);
              if (tooLong) throw tooLong;
            },
          };
        },
      },
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await wsCleanup.dispose();
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  app.get("/healthz", async (_req, res) => {
    try {
      await orm.em.getConnection().execute("select 1");
      res.json({ status: "ok", subgraph: def.name });
    } catch {
      res.status(503).json({ status: "unavailable", subgraph: def.name, reason: "database unreachable" });
    }
  });
  if (def.routes) {
    const router = express.Router();
    def.routes(router, { hub, authenticate, contextFor });
    app.use(router);
  }
  app.use(
    "/graphql",
    // JSON is UTF-8: bytes that are not would be decoded as U+FFFD, and stored as text nobody sent.
    express.json({
      limit: config.limits.MAX_BODY_BYTES,
      verify: (_req, _res, body) => {
        if (!isUtf8(body)) throw Object.assign(new Error("request body is not valid UTF-8"), { status: 400, type: NOT_UTF8 });
      },
    }),
    expressMiddleware(apollo, {
      context: async ({ req }) => contextFor(await authenticate(req.headers.authorization), req.headers["x-request-id"]),
    }),
  );
  const bodyErrors: ErrorRequestHandler = (err, _req, res, _next) => {
    const status = typeof err?.status === "number" ? err.status : 500;
    if (status === 413) {
      res.status(413).json(errorBody(`request body exceeds ${config.limits.MAX_BODY_BYTES} bytes`, "LIMIT_EXCEEDED"));
    } else if (err?.type === NOT_UTF8) {
      res.status(400).json(errorBody("request body is not valid UTF-8", "BAD_REQUEST"));
    } else if (status >= 400 && status < 500) {
      res.status(400).json(errorBody("request body is not valid JSON", "BAD_REQUEST"));
    } else {
      const correlationId = randomUUID();
      log.error({ correlationId, err }, "unexpected error outside GraphQL");
      res.status(500).json(errorBody(`Internal error; reference ${correlationId}`, "INTERNAL_SERVER_ERROR"));
    }
  };
  app.use(bodyErrors);

  const url = await listenForGraphQL(httpServer, options.port, options.host);
  log.info({ url }, "subgraph listening");

  return {
    name: def.name,
    url,
    orm,
    async close() {
      await apollo.stop();
      wsServer.close();
      for (const runner of projections.values()) await runner.close();
      await orm.close(true);
    },
  };
}
