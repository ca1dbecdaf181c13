import type { GatewayPlugin } from "@graphql-hive/gateway-runtime";
import type { TokenVerifier } from "../src/auth/jwt.js";
import type { Viewer } from "../src/auth/viewer.js";

export interface GatewayAuthContext {
  viewer: Viewer;
  /** The caller's `Bearer …` value, forwarded to subgraphs over HTTP and graphql-ws alike. */
  authorization: string;
}

/**
 * JWT at the edge: every operation, over HTTP, SSE or graphql-ws, needs a valid token before anything
 * is parsed or planned. Subgraphs verify the same token again.
 */
export function useEdgeAuth(verifier: TokenVerifier): GatewayPlugin<GatewayAuthContext> {
  return {
    async onContextBuilding({ context, extendContext }) {
      const header = context.request?.headers?.get("authorization") ?? context.connectionParams?.authorization;
      const viewer = await verifier.verifyHeader(header);
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
