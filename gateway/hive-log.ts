import { Logger as HiveLogger, type LogLevel } from "@graphql-hive/gateway-runtime";
import { expectedCode, isGraphQLError, withoutInputValues } from "../src/errors.js";
import type { Logger } from "../src/logger.js";

/** A client's own mistake (bad token, parse error, a limit): worth a debug line, not an alarm. */
function aboutTheRequest(attrs: Record<string, unknown> | null | undefined): boolean {
  const err = attrs?.error ?? attrs?.err ?? attrs;
  return Boolean(err && (expectedCode(err) || (isGraphQLError(err) && !err.originalError)));
}

/** What Hive's debug lines carry of a request or an answer: its values, which may be personal. */
const VALUE_KEYS = new Set(["variables", "body", "data", "result", "response", "request", "query"]);

/**
 * Hive's attributes as a log line may hold them: no request's variables or body and no answer's data
 * (a subgraph call's error carries the whole call in `extensions.request` and `extensions.response`),
 * and no refused value quoted in an error message. The query text goes too: a literal in it can be as
 * personal as a variable. The rest (ids, timings, statuses, paths) stays.
 */
function withoutValues(attrs: unknown, depth = 0): unknown {
  if (!attrs || typeof attrs !== "object" || depth > 6) return attrs;
  if (Array.isArray(attrs)) return attrs.map((v) => withoutValues(v, depth + 1));
  const source = attrs instanceof Error ? { name: attrs.name, message: attrs.message, ...(attrs as unknown as Record<string, unknown>) } : (attrs as Record<string, unknown>);
  return Object.fromEntries(
    Object.entries(source)
      .filter(([k]) => !VALUE_KEYS.has(k))
      .map(([k, v]) => [k, k === "message" && typeof v === "string" ? withoutInputValues(v) : withoutValues(v, depth + 1)]),
  );
}

/**
 * Hive Gateway's own log lines, written through the hub's logger: the same JSON format and the same
 * redaction of tokens, and no request's values (see withoutValues). Unexpected errors are logged by the gateway's
 * error masking with a correlation id, so Hive's error lines about requests are kept at debug.
 */
export function hiveLogger(log: Logger): HiveLogger {
  const child = log.child({ component: "hive" });
  return new HiveLogger({
    level: log.isLevelEnabled("debug") ? "debug" : "warn",
    writers: [
      {
        write(level: LogLevel, attrs, msg) {
          const fields = { hive: withoutValues(attrs) ?? undefined };
          if (level === "error") (aboutTheRequest(attrs as Record<string, unknown>) ? child.debug : child.warn).call(child, fields, msg ?? "");
          else child[level](fields, msg ?? "");
        },
      },
    ],
  });
}
