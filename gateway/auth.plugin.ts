import type { GatewayPlugin } from "@graphql-hive/gateway-runtime";
import type { TokenVerifier } from "../src/auth/jwt.js";
import type { Viewer } from "../src/auth/viewer.js";
import { ErrorCode, errorBody } from "../src/errors.js";

export interface GatewayAuthContext {
  viewer: Viewer;
  /** The caller's `Bearer …` value, forwarded to subgraphs over HTTP and graphql-ws alike. */
  authorization: string;
}

/**
 * GraphiQL's page is static HTML; everything it then sends carries the token the user gives it. Yoga
 * answers such a request with the page (and parses nothing) only while GraphiQL is on: with it off
 * (production), the same request is an operation like any other and needs a token.
 */
function wantsGraphiQLPage(request: Request): boolean {
  return request.method === "GET" && (request.headers.get("accept") ?? "").includes("text/html");
}

/**
 * JWT at the edge: every operation, over HTTP, SSE or graphql-ws, needs a valid token before anything
 * is parsed, validated or planned, so that a caller without one learns nothing of the schema.
 * (graphql-ws connections are verified when they open, in gateway.ts.) Subgraphs verify it again.
 */
export function useEdgeAuth(verifier: TokenVerifier, options: { graphiql: boolean }): GatewayPlugin<GatewayAuthContext> {
  // The viewer of each HTTP request, verified as it arrives, for its context.
  const viewers = new WeakMap<Request, Viewer>();
  return {
    async onRequest({ request, endResponse, fetchAPI }) {
      if (options.graphiql && wantsGraphiQLPage(request)) return;
      const verified = await verifier.check(request.headers.get("authorization"));
      if (verified.ok) {
        viewers.set(request, verified.viewer);
        return;
      }
      endResponse(
        new fetchAPI.Response(JSON.stringify(errorBody(verified.reason, ErrorCode.UNAUTHENTICATED)), {
          status: 401,
          headers: { "content-type": "application/json; charset=utf-8", "www-authenticate": 'Bearer realm="watchfloor"' },
        }),
      );
    },
    // HTTP: the viewer verified above. graphql-ws: verified per operation (a cache hit after connect).
    async onContextBuilding({ context, extendContext }) {
      const header = context.request?.headers?.get("authorization") ?? context.connectionParams?.authorization;
      const viewer = (context.request && viewers.get(context.request)) || (await verifier.verifyHeader(header));
      extendContext({ viewer, authorization: header! });
    },
    // Forward the caller's token on every transport. Hive's `propagateHeaders` runs only when the
    // context holds a Fetch Request, which graphql-ws contexts do not: without this, a query or
    // mutation sent over graphql-ws reached the subgraphs without a token and was refused.
    onSubgraphExecute({ executionRequest }) {
      const authorization = (executionRequest.context as Partial<GatewayAuthContext> | undefined)?.authorization;
      if (!authorization) return;
      const extensions = (executionRequest.extensions ||= {});
      extensions.headers = { ...(extensions.headers as Record<string, string> | undefined), authorization };
    },
  };
}
