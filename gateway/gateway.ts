import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createGatewayRuntime, type GatewayRuntime } from "@graphql-hive/gateway-runtime";
import { unifiedGraphHandler } from "@graphql-hive/router-runtime";
import { GraphQLError } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import type { TokenVerifier } from "../src/auth/jwt.js";
import type { Config } from "../src/config.js";
import { ErrorCode, errorBody, isGraphQLError } from "../src/errors.js";
import { IDEMPOTENCY_HEADER } from "../src/graphql/idempotency.js";
import type { Logger } from "../src/logger.js";
import { closeWhenTokenExpires, createHttpServer, isRequestId, listenForGraphQL, trackRequests } from "../src/net.js";
import { useEdgeAuth, type GatewayAuthContext } from "./auth.plugin.js";
import type { SubgraphEndpoint } from "./compose.js";
import { hiveLogger } from "./hive-log.js";
import { limitPlugins } from "./limits.js";
import { createErrorMasker, useNoSuggestions } from "./mask-error.js";
import { SharedSubscriptions, type SubscribeArgs } from "./shared-subscriptions.js";
import { useStreamEnds } from "./stream-ends.plugin.js";
import { useNoDataBesideRootErrors } from "./subscription-errors.plugin.js";
import { generateRequestId, requestFacts, useRequestFacts } from "./request-log.js";
import { useUtf8Bodies } from "./utf8.plugin.js";
import { useRefusalStatus } from "./idempotency.plugin.js";
import { isTaxiiPath, proxyTaxii } from "./taxii-proxy.js";

export interface GatewayOptions {
  config: Config;
  log: Logger;
  verifier: TokenVerifier;
  supergraphSdl: string;
  subgraphs: SubgraphEndpoint[];
  host: string;
  port: number;
}

export interface RunningGateway {
  url: string;
  server: Server;
  runtime: GatewayRuntime<GatewayAuthContext>;
  /** graphql-ws feeds served from shared upstreams; `stats()` tells how many. */
  sharedSubscriptions: SharedSubscriptions;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}


/** Development only: the Headers pane open, and where the token goes. */
const GRAPHIQL = {
  title: "Watchfloor",
  defaultEditorToolsVisibility: "headers" as const,
  headers: JSON.stringify({ authorization: "Bearer <a token from npm run token>" }, null, 2),
  defaultQuery: [
    "# Every request needs a token: put it in the Headers pane below,",
    '#   {"authorization": "Bearer <token>"}',
    '# (npm run token -- --org acme-cloud --kind PROVIDER --scopes "indicators:read indicators:write")',
    "{ viewer { org orgKind scopes expiresAt } }",
    "",
  ].join("\n"),
};

/**
 * The hub's front door: Hive Gateway over the composed supergraph, serving HTTP, SSE and graphql-ws on
 * /graphql, plus /healthz. JWT is verified at the edge and forwarded to the subgraphs (which verify it
 * again); limits are applied before execution; errors are masked.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { config, verifier } = options;
  const log = options.log.child({ component: "gateway" });
  const production = config.server.NODE_ENV === "production";
  // With introspection off, no error may name what introspection would (suggestions of schema names).
  const maskError = createErrorMasker(log, production);
  // Aborted when the gateway begins to stop: SSE streams end then (graphql-ws sockets are closed).
  const stopping = new AbortController();

  const runtime = createGatewayRuntime<GatewayAuthContext>({
    supergraph: options.supergraphSdl,
    // Hive Router's query planner (Rust, shipped in the npm package) and its purpose-built executor.
    unifiedGraphHandler,
    logging: hiveLogger(options.log),
    requestId: { generateRequestId },
    landingPage: false,
    // Browsers may call the hub only from the origins named in CORS_ORIGINS; none by default.
    cors: config.server.CORS_ORIGINS
      ? { origin: config.server.CORS_ORIGINS.split(","), methods: ["GET", "POST"], allowedHeaders: ["authorization", "content-type", "x-request-id", IDEMPOTENCY_HEADER], credentials: false }
      : false,
    graphiql: production ? false : GRAPHIQL,
    // GraphiQL's page from the local package, its scripts and styles inline: Yoga's default page loads
    // them from a CDN and stays blank without internet. Loaded on first use (9 MB), never in production.
    renderGraphiQL: async (options) => (await import("@graphql-yoga/render-graphiql")).renderGraphiQL(options),
    batching: config.limits.MAX_BATCHED_OPERATIONS > 0 ? { limit: config.limits.MAX_BATCHED_OPERATIONS } : false,
    disableIntrospection: production ? { disableIf: () => true } : undefined,
    transportEntries: {
      "*.http": {
        options: {
          // Every subgraph call carries the caller's token and its own request id, so no two calls
          // were ever shared; the deduplication still keyed each call on its whole body and cloned
          // every answer (structuredClone of a 1,000-item result) for nothing.
          deduplicateInflightRequests: false,
          subscriptions: {
            kind: "ws",
            location: "/graphql",
            options: { connectionParams: { authorization: "{context.authorization}" } },
          },
        },
      },
    },
    // Each subgraph records its part of a mutation under the client's key (src/graphql/idempotency.ts).
    propagateHeaders: {
      fromClientToSubgraphs: ({ request }) => ({ [IDEMPOTENCY_HEADER]: request.headers.get(IDEMPOTENCY_HEADER) }),
    },
    maskedErrors: { maskError },
    plugins: () => [
      useEdgeAuth(verifier, { graphiql: !production }),
      useUtf8Bodies(),
      ...limitPlugins(config.limits),
      ...(production ? [useNoSuggestions()] : []),
      useRequestFacts(),
      useStreamEnds(stopping.signal),
      useNoDataBesideRootErrors(),
      useRefusalStatus(),
    ],
  });
  // A graphql-ws subscription that arrives before any HTTP request needs the schema loaded.
  await runtime.getSchema();

  // Subscribers of the same feed (same document, variables, org and scopes) share one upstream.
  const sharedSubscriptions = new SharedSubscriptions({ log, maskError, ringSize: config.events.SUBSCRIPTION_RING_SIZE, ringMaxAgeMs: config.events.SUBSCRIPTION_RING_SECONDS * 1000 });

  const maxBody = config.limits.MAX_BODY_BYTES;
  // TAXII 2.1 is served by the indicators subgraph, beside its /graphql.
  const taxiiUrl = options.subgraphs.find((s) => s.name === "indicators")?.url;
  const server = createHttpServer(config.http, (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    // A caller's request id that is too long or odd is dropped: Hive then makes one (generateRequestId),
    // which goes to the subgraphs, back to the caller and into every log line instead.
    if (req.headers["x-request-id"] !== undefined && !isRequestId(req.headers["x-request-id"])) delete req.headers["x-request-id"];
    const path = (req.url ?? "/").split("?")[0];
    res.on("finish", () => {
      if (isTaxiiPath(path)) {
        log.info({ requestId: req.headers["x-request-id"], method: req.method, path, status: res.statusCode, ms: Math.round((performance.now() - started) * 10) / 10 }, "taxii request");
        return;
      }
      if (path !== "/graphql") return;
      const facts = requestFacts.get(req);
      log.info(
        {
          org: facts?.org,
          // Hive's request id (the client's x-request-id, or a new one): sent to the subgraphs and
          // returned to the client, so one id joins every log line of a request.
          requestId: facts?.requestId ?? req.headers["x-request-id"],
          operation: facts?.operation ?? null,
          status: res.statusCode,
          ms: Math.round((performance.now() - started) * 10) / 10,
          outcome: res.statusCode >= 400 || facts?.errors ? "error" : "ok",
          errors: facts?.errors ?? 0,
        },
        "request",
      );
    });
    if (requests.draining) {
      // A request on a keep-alive connection opened before the gateway began to stop.
      res.setHeader("connection", "close");
      sendJson(res, 503, errorBody("the gateway is stopping; retry the request", ErrorCode.SERVICE_UNAVAILABLE));
      req.resume();
      return;
    }
    if (path === "/healthz" && req.method === "GET") {
      void health(options.subgraphs).then(({ ok, subgraphs }) => sendJson(res, ok ? 200 : 503, { status: ok ? "ok" : "unavailable", subgraphs }));
      return;
    }
    if (isTaxiiPath(path)) {
      proxyTaxii(req, res, taxiiUrl, log);
      return;
    }
    if (path !== "/graphql") {
      sendJson(res, 404, errorBody("not found: the GraphQL endpoint is /graphql", "NOT_FOUND"));
      return;
    }
    if (req.method === "POST") {
      const length = req.headers["content-length"];
      if (length === undefined) {
        sendJson(res, 411, errorBody("send the request with a Content-Length header", "BAD_REQUEST"));
        req.resume();
        return;
      }
      if (Number(length) > maxBody) {
        res.setHeader("connection", "close");
        sendJson(res, 413, errorBody(`request body of ${length} bytes exceeds the limit of ${maxBody} bytes`, "LIMIT_EXCEEDED"));
        req.destroy();
        return;
      }
    }
    void runtime(req, res);
  });

  const requests = trackRequests(server);

  const wsServer = new WebSocketServer({ server, path: "/graphql", maxPayload: maxBody });
  const wsCleanup = useServer<Record<string, unknown>, { request: IncomingMessage; cancelExpiry?: () => void }>(
    {
      // A refusal thrown by Hive's execution (a variable that does not coerce) is an answer, not the
      // end of the socket (graphql-ws closes it with 4500 on anything thrown).
      execute: async (args) => {
        try {
          return (await (args.rootValue as { execute: (a: unknown) => unknown }).execute(args)) as never;
        } catch (err) {
          return { errors: [maskError(err) as GraphQLError] };
        }
      },
      subscribe: async (args) => {
        try {
          return (await sharedSubscriptions.subscribe(args as unknown as SubscribeArgs)) as never;
        } catch (err) {
          return { errors: [maskError(err) as GraphQLError] };
        }
      },
      onConnect: async (ctx) => {
        const verified = await verifier.check(ctx.connectionParams?.authorization);
        if (!verified.ok) {
          ctx.extra.socket.close(4403, `Forbidden: ${verified.reason}`.slice(0, 120));
          return false;
        }
        // The connection ends when its token does; the client resumes with a new token and its cursor.
        ctx.extra.cancelExpiry = closeWhenTokenExpires(ctx.extra.socket, verified.viewer.validUntilMs);
        return true;
      },
      onClose: (ctx) => ctx.extra.cancelExpiry?.(),
      // Errors graphql-ws sends on its own (parse and validation, returned below) pass the same masking.
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => maskError(e) as GraphQLError),
      onSubscribe: async (ctx, _id, payload) => {
        const initialContext = { ...ctx, req: ctx.extra.request, socket: ctx.extra.socket, params: payload };
        const { schema, execute, subscribe, contextFactory, parse, validate } = runtime.getEnveloped(initialContext);
        let document;
        try {
          document = parse(payload.query);
        } catch (err) {
          return [isGraphQLError(err) ? err : new GraphQLError("query could not be parsed")];
        }
        const errors = validate(schema, document);
        if (errors.length) return errors;
        let contextValue;
        try {
          contextValue = await contextFactory();
        } catch (err) {
          return [isGraphQLError(err) ? err : new GraphQLError("token could not be verified")];
        }
        log.info({ org: (contextValue as Partial<GatewayAuthContext>).viewer?.org, operation: payload.operationName ?? null, transport: "ws" }, "subscribe");
        return {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue,
          rootValue: {
            execute,
            subscribe,
            // A new context on the same socket and token, for each upstream a shared feed starts with it.
            envelope: async () => {
              const fresh = runtime.getEnveloped(initialContext);
              return { execute: fresh.execute, subscribe: fresh.subscribe, contextValue: await fresh.contextFactory() };
            },
          },
        };
      },
    },
    wsServer,
  );

  const url = await listenForGraphQL(server, options.port, options.host);
  log.info({ url }, "gateway listening");

  return {
    url,
    server,
    runtime,
    sharedSubscriptions,
    /**
     * Drains: no new connection; feeds end at once (graphql-ws sockets close with 1001, SSE streams
     * end with SERVICE_UNAVAILABLE; both resume elsewhere from their cursors); the requests in flight
     * are answered, for at most DRAIN_TIMEOUT_SECONDS.
     */
    async close() {
      stopping.abort();
      const drained = requests.drain(config.http.DRAIN_TIMEOUT_SECONDS * 1000, () => {
        for (const socket of wsServer.clients) socket.terminate();
      });
      await wsCleanup.dispose();
      sharedSubscriptions.close();
      wsServer.close();
      await drained;
      await runtime.dispose();
    },
  };
}

async function health(subgraphs: SubgraphEndpoint[]): Promise<{ ok: boolean; subgraphs: Record<string, string> }> {
  const results = await Promise.all(
    subgraphs.map(async (s) => {
      try {
        const res = await fetch(s.url.replace(/\/graphql$/, "/healthz"), { signal: AbortSignal.timeout(2_000) });
        return [s.name, res.ok ? "ok" : "unavailable"] as const;
      } catch {
        return [s.name, "unreachable"] as const;
      }
    }),
  );
  return { ok: results.every(([, status]) => status === "ok"), subgraphs: Object.fromEntries(results) };
}
