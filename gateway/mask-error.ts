import { randomUUID } from "node:crypto";
import type { GatewayPlugin } from "@graphql-hive/gateway-runtime";
import { GraphQLError } from "graphql";
import { ErrorCode, expectedCode, isGraphQLError, maskedUpstream, withoutInputValues, withoutInternals, withoutSuggestions } from "../src/errors.js";
import type { Logger } from "../src/logger.js";

type ErrorLike = { message?: unknown; path?: readonly (string | number)[]; extensions?: Record<string, unknown> };

/**
 * What a client may see of an error: its message, path and extensions less anything internal, and
 * with `hideSchemaDetails` no suggestion of a schema name.
 */
function clientFacing(error: ErrorLike, hideSchemaDetails: boolean, path = error.path): GraphQLError {
  const extensions = withoutInternals(error.extensions);
  const message = withoutInputValues(hideSchemaDetails ? withoutSuggestions(String(error.message)) : String(error.message));
  // GraphQL's own refusal of a variable (an enum value not in the schema, say) comes without a code.
  if (!extensions.code && /^Variable "\$/.test(message)) extensions.code = ErrorCode.BAD_USER_INPUT;
  // Yoga's request parser puts the JSON parser's exception in `originalError` (removed above), whose
  // presence also made Yoga answer 400 rather than 200: the status is kept without the exception.
  const http = extensions.http as { spec?: boolean } | undefined;
  if (error.extensions?.originalError && http?.spec) extensions.http = { ...http, spec: false };
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
    const failure = transportFailure(error);
    if (failure) {
      const correlationId = randomUUID();
      const service = failure.serviceName ?? "a subgraph";
      log.warn({ correlationId, serviceName: failure.serviceName, code: failure.code, status: failure.status, reason: failure.reason }, "subgraph unavailable");
      return new GraphQLError(`the ${service} service is unavailable; the request may be retried`, {
        path,
        extensions: { code: ErrorCode.SUBGRAPH_UNAVAILABLE, serviceName: service, correlationId },
      });
    }
    const original = isGraphQLError(error) ? error.originalError : error;
    // A subgraph's error can arrive as a plain object: graphql-ws serialises only GraphQLErrors. An
    // error a subgraph sent without one of the hub's codes is not about the request: it is masked.
    const fromSubgraph = typeof (error as ErrorLike).extensions?.serviceName === "string";
    if (expectedCode(error) || (isGraphQLError(error) && !fromSubgraph && (!original || isGraphQLError(original)))) {
      return clientFacing(error as ErrorLike, hideSchemaDetails);
    }
    // A subgraph subscription that fails after it started (an `error` message upstream, e.g. a cursor
    // past retention) arrives as DOWNSTREAM_SERVICE_ERROR wrapping the subgraph's errors.
    const expected = Array.isArray(original) ? (original as ErrorLike[]).find((e) => expectedCode(e)) : undefined;
    if (expected) return clientFacing(expected, hideSchemaDetails, path);
    const correlationId = randomUUID();
    log.error({ correlationId, err: forTheLog(error) }, "unexpected error");
    return new GraphQLError(`Internal error; quote reference ${correlationId} to the hub's operators`, {
      extensions: { code: "INTERNAL_SERVER_ERROR", correlationId },
    });
  };
}

/**
 * Hive's codes for a subgraph call that failed as HTTP (refused, reset, timed out) or was answered with
 * something that is not a GraphQL response (an HTML 5xx page, garbage, neither data nor errors).
 */
const TRANSPORT_FAILURES = new Set(["SUBREQUEST_HTTP_ERROR", "RESPONSE_VALIDATION_FAILED", "TIMEOUT_ERROR", "GATEWAY_TIMEOUT"]);

interface TransportFailure {
  serviceName?: string;
  code: string;
  status?: number;
  /** Node's or Hive's words (an address, the start of the answer): for the operators' log only. */
  reason: string;
}

/**
 * A subgraph the gateway could not use: Hive's transport codes, or what Hive's executor wrapped as
 * DOWNSTREAM_SERVICE_ERROR that is neither a GraphQL error nor a list of them (an exception), or that
 * has no message at all: a graphql-ws socket to the subgraph that closed (its close event has none).
 */
function transportFailure(error: unknown): TransportFailure | undefined {
  let serviceName: string | undefined;
  let e: unknown = error;
  for (let i = 0; i < 5 && e; i++) {
    const extensions = (e as ErrorLike).extensions;
    if (typeof extensions?.serviceName === "string") serviceName ??= extensions.serviceName;
    const code = typeof extensions?.code === "string" ? extensions.code : "";
    const original: unknown = (e as GraphQLError).originalError;
    const downstream = code === "DOWNSTREAM_SERVICE_ERROR";
    const thrown = downstream && typeof original === "object" && original !== null && !isGraphQLError(original) && !Array.isArray(original);
    const wordless = downstream && !(e as ErrorLike).message && isGraphQLError(e) && !innermost(e).message && !innermost(e).originalError;
    if (TRANSPORT_FAILURES.has(code) || thrown || wordless) {
      const status = (extensions?.response as { status?: unknown } | undefined)?.status;
      const reason = wordless ? "the connection to the subgraph closed" : String((e as ErrorLike).message);
      return { serviceName, code, status: typeof status === "number" ? status : undefined, reason: reason.slice(0, 200) };
    }
    e = original;
  }
  return undefined;
}

/** The last GraphQL error of a chain of them (Hive wraps the executor's error in the router's). */
function innermost(error: GraphQLError): GraphQLError {
  let e = error;
  for (let i = 0; i < 5 && e.originalError && isGraphQLError(e.originalError); i++) e = e.originalError;
  return e;
}

/** An error for the log: Hive's `request` (the subgraph call, variables and all) and `response` left out. */
function forTheLog(error: unknown): unknown {
  if (!isGraphQLError(error)) return error;
  const { request: _request, response: _response, ...extensions } = error.extensions ?? {};
  const cause = error.originalError && !isGraphQLError(error.originalError) ? error.originalError : undefined;
  return { message: error.message, path: error.path, extensions, cause };
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
