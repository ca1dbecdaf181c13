import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { supergraphFromSchemaDir } from "../gateway/compose.js";
import type { Config } from "../src/config.js";
import type { Logger } from "../src/logger.js";

/**
 * The gateway baseline: `@apollo/gateway` (Elastic-2.0, allowed under bench/ only) with a static
 * supergraph composed the same way as the hub's (schema/<name>.graphql, the bench's subgraph URLs),
 * forwarding the client's Authorization header to every subgraph. Served by Apollo Server's
 * standalone HTTP server. Its telemetry export to Apollo is switched off (APOLLO_TELEMETRY_DISABLED),
 * so that all traffic stays on loopback.
 */
interface ApolloContext {
  authorization?: string;
}

export async function startApolloGateway(config: Config, log: Logger): Promise<{ url: string; stop(): Promise<void> }> {
  process.env.APOLLO_TELEMETRY_DISABLED = "true";
  const spec = config.server.SUBGRAPH_URLS;
  if (!spec) throw new Error("SUBGRAPH_URLS: required for the Apollo gateway");
  const endpoints = spec.split(",").map((pair) => {
    const [name, url] = pair.split("=") as [string, string];
    return { name, url };
  });
  const supergraphSdl = await supergraphFromSchemaDir(endpoints);

  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ url }) =>
      new RemoteGraphQLDataSource<ApolloContext>({
        url,
        willSendRequest({ request, context }) {
          if (context.authorization) request.http?.headers.set("authorization", context.authorization);
        },
      }),
    logger: { debug: () => undefined, info: () => undefined, warn: (m: unknown) => log.warn(String(m)), error: (m: unknown) => log.error(String(m)) },
  });
  const server = new ApolloServer<ApolloContext>({ gateway, introspection: false, includeStacktraceInErrorResponses: false });
  const { url } = await startStandaloneServer(server, {
    listen: { host: "127.0.0.1", port: config.server.PORT },
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  });
  return {
    url: new URL("/graphql", url).toString(),
    stop: () => server.stop(),
  };
}
