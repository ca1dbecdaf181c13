import { Logger as HiveLogger, type LogLevel } from "@graphql-hive/gateway-runtime";
import { expectedCode, isGraphQLError } from "../src/errors.js";
import type { Logger } from "../src/logger.js";

/** A client's own mistake (bad token, parse error, a limit): worth a debug line, not an alarm. */
function aboutTheRequest(attrs: Record<string, unknown> | null | undefined): boolean {
  const err = attrs?.error ?? attrs?.err ?? attrs;
  return Boolean(err && (expectedCode(err) || (isGraphQLError(err) && !err.originalError)));
}

/**
 * A subgraph call's error carries the whole call in `extensions.request` (its variables: a batch's
 * values) and the answer in `extensions.response`: neither belongs in a log line.
 */
function withoutSubgraphCall(attrs: unknown): unknown {
  if (!attrs || typeof attrs !== "object") return attrs;
  const extensions = (attrs as { extensions?: Record<string, unknown> }).extensions;
  if (extensions && ("request" in extensions || "response" in extensions)) {
    const { request: _request, response: _response, ...rest } = extensions;
    return { message: (attrs as { message?: unknown }).message, path: (attrs as { path?: unknown }).path, extensions: rest };
  }
  if (!Array.isArray(attrs) && !(attrs instanceof Error)) {
    return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, v && typeof v === "object" && k !== "hive" ? withoutSubgraphCall(v) : v]));
  }
  return attrs;
}

/**
 * Hive Gateway's own log lines, written through the hub's logger: the same JSON format and the same
 * redaction of tokens, and no subgraph call's variables. Unexpected errors are logged by the gateway's
 * error masking with a correlation id, so Hive's error lines about requests are kept at debug.
 */
export function hiveLogger(log: Logger): HiveLogger {
  const child = log.child({ component: "hive" });
  return new HiveLogger({
    level: log.isLevelEnabled("debug") ? "debug" : "warn",
    writers: [
      {
        write(level: LogLevel, attrs, msg) {
          const fields = { hive: withoutSubgraphCall(attrs) ?? undefined };
          if (level === "error") (aboutTheRequest(attrs as Record<string, unknown>) ? child.debug : child.warn).call(child, fields, msg ?? "");
          else child[level](fields, msg ?? "");
        },
      },
    ],
  });
}
