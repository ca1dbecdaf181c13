import type { IncomingMessage } from "node:http";
import type { GatewayPlugin } from "@graphql-hive/gateway-runtime";
import type { GatewayAuthContext } from "./auth.plugin.js";

/** What the GraphQL layer learns about a request, for the one log line written when it ends. */
export interface RequestFacts {
  org?: string;
  operation?: string | null;
  errors?: number;
}

export const requestFacts = new WeakMap<IncomingMessage, RequestFacts>();

function factsOf(context: { req?: IncomingMessage }): RequestFacts | undefined {
  const req = context.req;
  if (!req) return undefined;
  let facts = requestFacts.get(req);
  if (!facts) {
    facts = {};
    requestFacts.set(req, facts);
  }
  return facts;
}

/** Records org, operation name and error count on the node request the HTTP layer logs. */
export function useRequestFacts(): GatewayPlugin<GatewayAuthContext & { req?: IncomingMessage }> {
  return {
    onExecute({ args }) {
      const facts = factsOf(args.contextValue as { req?: IncomingMessage });
      if (facts) {
        facts.org = (args.contextValue as Partial<GatewayAuthContext>).viewer?.org;
        facts.operation = args.operationName ?? null;
      }
      return {
        onExecuteDone({ result }) {
          if (facts && result && !(Symbol.asyncIterator in result)) facts.errors = result.errors?.length ?? 0;
        },
      };
    },
  };
}
