import { randomUUID } from "node:crypto";
import type { GatewayPlugin } from "@graphql-hive/gateway-runtime";
import { GraphQLError } from "graphql";
import { ErrorCode, expectedCode, isGraphQLError, maskedUpstream, withoutInternals, withoutSuggestions } from "../src/errors.js";
import type { Logger } from "../src/logger.js";

type ErrorLike = { message?: unknown; path?: readonly (string | number)[]; extensions?: Record<string, unknown> };

/**
 * What a client may see of an error: its message, path and extensions less anything internal, and
 * with `hideSchemaDetails` no suggestion of a schema name.
 */
function clientFacing(error: ErrorLike, hideSchemaDetails: boolean, path = error.path): GraphQLError {
  const extensions = withoutInternals(error.extensions);
  const message = hideSchemaDetails ? withoutSuggestions(String(error.message)) : String(error.message);
  // GraphQL's own refusal of a variable (an enum value not in the schema, say) comes without a code.
  if (!extensions.code && /^Variable "\$/.test(message)) extensions.code = ErrorCode.BAD_USER_INPUT;
  return new GraphQLError(message, { path, extensions });
}

/**
 * The gateway's error masking. Passed on as they are: errors about the request (parse, validation,
 * limits, variables), expected errors of the hub (they carry a known code), and errors a subgraph
 * already masked (they carry its correlation id). Anything else becomes a generic message with a
 * correlation id, and the detail goes to the log under that id.
 */
export function createErrorMasker(log: Logger, hideSchemaDetails: boolean) {
  return function maskError(error: unknown): Error {
    const path = (error as ErrorLike).path;
    const upstream = maskedUpstream(error);
    if (upstream) return new GraphQLError(upstream.message, { path, extensions: upstream.extensions });
    const original = isGraphQLError(error) ? error.originalError : error;
    // A subgraph's error can arrive as a plain object: graphql-ws serialises only GraphQLErrors.
    if (expectedCode(error) || (isGraphQLError(error) && (!original || isGraphQLError(original)))) {
      return clientFacing(error as ErrorLike, hideSchemaDetails);
    }
    // A subgraph subscription that fails after it started (an `error` message upstream, e.g. a cursor
    // past retention) arrives as DOWNSTREAM_SERVICE_ERROR wrapping the subgraph's errors.
    const expected = Array.isArray(original) ? (original as ErrorLike[]).find((e) => expectedCode(e)) : undefined;
    if (expected) return clientFacing(expected, hideSchemaDetails, path);
    const correlationId = randomUUID();
    log.error({ correlationId, err: original }, "unexpected error");
    return new GraphQLError(`Internal error; quote reference ${correlationId} to the hub's operators`, {
      extensions: { code: "INTERNAL_SERVER_ERROR", correlationId },
    });
  };
}

/**
 * Validation errors leave Yoga without passing the error masking: with introspection off (production)
 * their suggestions of schema names are taken out here.
 */
export function useNoSuggestions(): GatewayPlugin {
  return {
    onValidate() {
      return ({ valid, result, setResult }) => {
        if (!valid) setResult(result.map((e) => new GraphQLError(withoutSuggestions(e.message), { nodes: e.nodes, source: e.source, positions: e.positions, path: e.path, extensions: e.extensions })));
      };
    },
  };
}
