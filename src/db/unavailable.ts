/**
 * Whether an error says that PostgreSQL could not be reached or dropped the connection: a refused or
 * broken socket, the server shutting down or not yet accepting connections, the pool unable to get a
 * connection in time. Such a failure is the database's, not the request's: the request may be retried.
 * Any other database error (a constraint, a syntax error, a timeout of a statement) is not one.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  let e: unknown = err;
  for (let i = 0; i < 5 && e && typeof e === "object"; i++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === "string" && (SOCKET_CODES.has(code) || SQLSTATES.has(code) || code.startsWith("08"))) return true;
    if (typeof message === "string" && PG_MESSAGES.some((m) => m.test(message))) return true;
    e = (e as { cause?: unknown; originalError?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return false;
}

/** Node's codes for a socket that could not connect or broke. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

/**
 * SQLSTATEs of an unavailable server (class 08, connection exception, is matched by its prefix):
 * admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections.
 */
const SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300"]);

/** node-postgres's words for a connection that ended or could not be had (they carry no code). */
const PG_MESSAGES = [/^Connection terminated/, /^timeout exceeded when trying to connect/, /^Client has encountered a connection error/];
