import { randomUUID } from "node:crypto";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { isDatabaseUnavailable } from "./db/unavailable.js";
import type { Logger } from "./logger.js";

/**
 * Expected failures carry one of these codes and reach the client as they are. Anything else is
 * unexpected: the client gets a generic message with a correlation id, the log gets the detail.
 */
export const ErrorCode = {
  UNAUTHENTICATED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
  BAD_USER_INPUT: "BAD_USER_INPUT",
  NOT_FOUND: "NOT_FOUND",
  CURSOR_EXPIRED: "CURSOR_EXPIRED",
  LIMIT_EXCEEDED: "LIMIT_EXCEEDED",
  GRAPHQL_VALIDATION_FAILED: "GRAPHQL_VALIDATION_FAILED",
  GRAPHQL_PARSE_FAILED: "GRAPHQL_PARSE_FAILED",
  BAD_REQUEST: "BAD_REQUEST",
  PERSISTED_QUERY_NOT_FOUND: "PERSISTED_QUERY_NOT_FOUND",
  /** A subscriber fell too far behind its feed; it resubscribes with the cursor of its last event. */
  SUBSCRIBER_TOO_SLOW: "SUBSCRIBER_TOO_SLOW",
  /** A feed's source stayed unavailable; the subscriber resubscribes later with its last cursor. */
  FEED_UNAVAILABLE: "FEED_UNAVAILABLE",
  /** An Idempotency-Key already used, within the window, for a different request (HTTP 422). */
  IDEMPOTENCY_KEY_REUSED: "IDEMPOTENCY_KEY_REUSED",
  /** An Idempotency-Key whose first request is still running; retry when it has finished (HTTP 409). */
  IDEMPOTENCY_KEY_IN_PROGRESS: "IDEMPOTENCY_KEY_IN_PROGRESS",
  /** The hub cannot serve this now (its database is unreachable, or it is stopping): retry later. */
  SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  /** A subgraph did not answer the gateway, or not in GraphQL (`serviceName` names it): retry later. */
  SUBGRAPH_UNAVAILABLE: "SUBGRAPH_UNAVAILABLE",
  /** An org's identifiers matched today (UTC) would pass its MATCH_DAILY_BUDGET; nothing was looked up. */
  MATCH_BUDGET_EXCEEDED: "MATCH_BUDGET_EXCEEDED",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const EXPECTED = new Set<string>(Object.values(ErrorCode));

/**
 * By name as well as by class, as GraphQL Yoga does: a second copy of graphql (CJS and ESM builds
 * loaded side by side) makes errors that are GraphQLErrors in every way but `instanceof`.
 */
export function isGraphQLError(err: unknown): err is GraphQLError {
  return err instanceof GraphQLError || (err instanceof Error && err.name === "GraphQLError");
}

export function expectedError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

export const unauthenticated = (why: string) => expectedError(ErrorCode.UNAUTHENTICATED, why);
export const forbidden = (why: string) => expectedError(ErrorCode.FORBIDDEN, why);
export const badInput = (why: string, field?: string) =>
  expectedError(ErrorCode.BAD_USER_INPUT, why, field ? { field } : {});

/** A GraphQL-shaped JSON body, for refusals made before GraphQL runs. */
export const errorBody = (message: string, code: string) => ({ errors: [{ message, extensions: { code } }] });

/**
 * Extensions less what a client must not see: stack traces, exception details, and the exception
 * Yoga's request parser puts in `originalError` (Node's JSON parser's words about the body).
 */
export function withoutInternals(extensions: Record<string, unknown> | undefined): Record<string, unknown> {
  const { stacktrace: _stack, exception: _exception, originalError: _original, ...rest } = extensions ?? {};
  return rest;
}

/** An error whose code marks it as expected, at any depth of GraphQL's wrapping. */
export function expectedCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 5 && e; i++) {
    const code = (e as GraphQLError).extensions?.code;
    if (typeof code === "string" && EXPECTED.has(code)) return code;
    e = (e as GraphQLError).originalError;
  }
  return undefined;
}

/** An error a subgraph already masked (it carries its correlation id): pass it on unchanged. */
export function maskedUpstream(err: unknown): GraphQLError | undefined {
  let e: unknown = err;
  for (let i = 0; i < 5 && e; i++) {
    if (isGraphQLError(e) && typeof e.extensions?.correlationId === "string") return e;
    const original: unknown = (e as GraphQLError).originalError;
    e = Array.isArray((original as AggregateError)?.errors) ? (original as AggregateError).errors[0] : original;
  }
  return undefined;
}

/**
 * graphql-js's suggestions (` Did you mean "indicator"?`, ` Did you mean the enum value "GREEN"?`) name
 * fields, arguments, input fields, enum values and types of the schema: with introspection off they
 * would hand it out a guess at a time. Schema names cannot hold a "?", so the suggestion ends at one.
 * Stripped from every message rather than in validation only (as graphql-armor's block-field-suggestions
 * and Apollo's hideSchemaDetailsFromClientErrors do), since variable coercion suggests names too.
 */
const SUGGESTION = / ?Did you mean [^?]*\?/g;
export const withoutSuggestions = (message: string): string => message.replace(SUGGESTION, "");

/**
 * graphql-js and scalar libraries quote the value they refused (`Variable "$input" got invalid value
 * { names: ["…"] } at "input.customer"; …`, `String cannot represent a non string value: 123456789`).
 * The value may be personal (a name, a national id), and error messages reach logs and clients, so
 * what is kept is where and why: the variable, the path and the rule, never the value.
 */
const VARIABLE_VALUE = /^Variable "\$([^"]+)" got invalid value /;
const AT_PATH = / at "([^"]*)"$/;
const SCALAR_VALUE: [RegExp, string][] = [
  [/^(.*? cannot represent [^:]*?(?:value|type))(?::| )[\s\S]*$/, "$1."],
  [/^(.*? cannot represent an invalid [\w-]+)[\s\S]*$/, "$1."],
  [/^Value [\s\S]* does not exist in ("[^"]+" enum\.)$/, "The value does not exist in $1"],
  [/^(Expected value of type "[^"]+"), found [\s\S]*$/, "$1."],
];
function withoutValue(inner: string): string {
  for (const [pattern, replacement] of SCALAR_VALUE) if (pattern.test(inner)) return inner.replace(pattern, replacement);
  return inner;
}
export function withoutInputValues(message: string): string {
  const variable = VARIABLE_VALUE.exec(message);
  if (!variable) return withoutValue(message);
  const rest = message.slice(variable[0].length);
  // The rule's words follow the last "; " (a value could hold one; the rule never does).
  const cut = rest.lastIndexOf("; ");
  if (cut < 0) return `Variable "$${variable[1]}" got an invalid value.`;
  const at = AT_PATH.exec(rest.slice(0, cut));
  return `Variable "$${variable[1]}" got an invalid value${at ? ` at "${at[1]}"` : ""}; ${withoutValue(rest.slice(cut + 2))}`;
}

/**
 * Format for clients: expected errors keep message and code; the rest are masked and logged.
 * `hideSchemaDetails` (production, where introspection is off): no suggestion of a schema name.
 */
export function formatClientError(formatted: GraphQLFormattedError, err: unknown, log: Logger, hideSchemaDetails = false): GraphQLFormattedError {
  const code = expectedCode(err) ?? (typeof formatted.extensions?.code === "string" && EXPECTED.has(formatted.extensions.code) ? formatted.extensions.code : undefined);
  // A GraphQLError raised by GraphQL itself (parse, validation, coercion) is about the request, not us.
  const requestError = isGraphQLError(err) && !err.originalError;
  if (code || requestError) {
    const extensions = withoutInternals(formatted.extensions as Record<string, unknown> | undefined);
    const message = withoutInputValues(hideSchemaDetails ? withoutSuggestions(formatted.message) : formatted.message);
    return { message, locations: formatted.locations, path: formatted.path, extensions: code ? { ...extensions, code } : extensions };
  }
  const correlationId = randomUUID();
  const original = (err as GraphQLError)?.originalError ?? err;
  if (isDatabaseUnavailable(original)) {
    log.warn({ correlationId, err: original, path: formatted.path }, "database unavailable");
    return {
      message: "the database is unavailable for a moment; retry the request",
      path: formatted.path,
      extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, correlationId },
    };
  }
  log.error({ correlationId, err: original, path: formatted.path }, "unexpected error");
  return {
    message: `Internal error; quote reference ${correlationId} to the hub's operators`,
    path: formatted.path,
    extensions: { code: "INTERNAL_SERVER_ERROR", correlationId },
  };
}

/** The same rule as `formatClientError`, for transports that carry GraphQLError objects (graphql-ws). */
export function maskedGraphQLError(err: GraphQLError, log: Logger, hideSchemaDetails = false): GraphQLError {
  const formatted = formatClientError(err.toJSON(), err, log, hideSchemaDetails);
  return new GraphQLError(formatted.message, { path: err.path, extensions: formatted.extensions });
}
