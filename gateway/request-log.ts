import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { GatewayPlugin } from "@graphql-hive/gateway-runtime";
import type { GatewayAuthContext } from "./auth.plugin.js";

/** What the GraphQL layer learns about a request, for the one log line written when it ends. */
export interface RequestFacts {
  org?: string;
  requestId?: string;
  operation?: string | null;
  errors?: number;
}

export const requestFacts = new WeakMap<IncomingMessage, RequestFacts>();

export function factsOf(context: { req?: IncomingMessage }): RequestFacts | undefined {
  const req = context.req;
  if (!req) return undefined;
  let facts = requestFacts.get(req);
  if (!facts) {
    facts = {};
    requestFacts.set(req, facts);
  }
  return facts;
}

/** Hive's request ids (sent to subgraphs as x-request-id, returned to the client), remembered for the log line. */
export function generateRequestId({ context }: { context: unknown }): string {
  const id = randomUUID();
  const facts = factsOf(context as { req?: IncomingMessage });
  if (facts) facts.requestId = id;
  return id;
}

/** Records org, operation name and error count on the node request the HTTP layer logs. */
export function useRequestFacts(): GatewayPlugin<GatewayAuthContext & { req?: IncomingMessage }> {
  return {
    // An SSE subscription's line is written when its stream ends: it counts the errors it carried.
    onSubscribe({ args }) {
      const facts = factsOf(args.contextValue as { req?: IncomingMessage });
      if (facts) {
        facts.org = (args.contextValue as Partial<GatewayAuthContext>).viewer?.org;
        facts.operation = args.operationName ?? null;
      }
      return {
        onSubscribeResult() {
          return {
            onNext({ result }) {
              if (facts && result.errors?.length) facts.errors = (facts.errors ?? 0) + result.errors.length;
            },
          };
        },
      };
    },
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
