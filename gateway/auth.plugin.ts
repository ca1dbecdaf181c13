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
  };
}
