import { createServer, type RequestListener, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import type { Config } from "./config.js";

/**
 * The HTTP server of the gateway and of each subgraph, which slow or greedy clients cannot hold: headers
 * and whole requests must arrive within their timeouts (checked every second; Node checks every 30 s
 * by default), a keep-alive connection carries a bounded number of requests, and open connections are
 * capped.
 */
export function createHttpServer(http: Config["http"], listener: RequestListener): Server {
  const server = createServer(
    {
      headersTimeout: http.HTTP_HEADERS_TIMEOUT_SECONDS * 1000,
      requestTimeout: http.HTTP_REQUEST_TIMEOUT_SECONDS * 1000,
      connectionsCheckingInterval: 1000,
    },
    listener,
  );
  server.maxRequestsPerSocket = http.HTTP_MAX_REQUESTS_PER_SOCKET;
  server.maxConnections = http.HTTP_MAX_CONNECTIONS;
  return server;
}

/**
 * What the hub takes from a caller's x-request-id: a short id of letters, digits and `._:-`, so that it
 * can neither bloat nor forge a log line. Anything else is replaced by an id of the hub's own.
 */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
export const isRequestId = (value: unknown): value is string => typeof value === "string" && REQUEST_ID.test(value);

/**
 * Stopping without dropping what is in hand. `drain` stops taking connections, lets the requests in
 * flight finish (their answers close their connections) for at most `timeoutMs`, then closes every
 * connection left. Requests that arrive meanwhile on an open keep-alive connection are the server's
 * to refuse (`draining`). Long-lived answers (SSE) must be ended by their owner when draining starts.
 */
export function trackRequests(server: Server) {
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  let settled: (() => void) | undefined;
  server.on("request", (_req, res: ServerResponse) => {
    inFlight.add(res);
    res.once("close", () => {
      inFlight.delete(res);
      if (draining && !inFlight.size) settled?.();
    });
  });
  return {
    get draining() {
      return draining;
    },
    /** `stragglers`: ends what is not a request (upgraded sockets), once the wait is over. */
    async drain(timeoutMs: number, stragglers?: () => void): Promise<void> {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const res of inFlight) if (!res.headersSent) res.setHeader("connection", "close");
      if (inFlight.size) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          settled = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      stragglers?.();
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Listens (port 0: any free port) and answers the GraphQL URL actually bound. */
export async function listenForGraphQL(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return `http://${host}:${(server.address() as AddressInfo).port}/graphql`;
}

/**
 * Closes a graphql-ws socket (4403 "token expired") the moment its token stops being accepted, so
 * that nothing sent over it later runs on an expired token. Returns the cancel for when it closes.
 */
export function closeWhenTokenExpires(socket: { close(code: number, reason: string): void }, validUntilMs: number): () => void {
  const ms = Math.max(0, Math.min(validUntilMs - Date.now(), 2 ** 31 - 1));
  const timer = setTimeout(() => socket.close(4403, "Forbidden: token expired"), ms);
  return () => clearTimeout(timer);
}

/** A port this process is going to listen on, and the setting an operator changes to move it. */
export interface PlannedPort {
  host: string;
  port: number;
  setting: string;
  /** What listens there, for the message: "the gateway", "the directory subgraph, SUBGRAPH_PORT_BASE + 1". */
  what: string;
}

/** A port the process needs cannot be had: the operator's to fix, so the message is the whole report. */
export class PortUnavailableError extends Error {
  override name = "PortUnavailableError";
}

function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const probe = createNetServer();
    probe.once("error", (err: NodeJS.ErrnoException) => resolve(err));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
}

/**
 * Checks that every port the process will listen on can be had, before any database work, so that a
 * port in use stops the start at once with a line naming the port and its setting (rather than after
 * the embedded PostgreSQL and the migrations, with a stack). Port 0 (any free port) is not checked.
 */
export async function assertPortsAvailable(ports: PlannedPort[]): Promise<void> {
  const problems: string[] = [];
  // Two of the process's own listeners on one port (EMBEDDED_PG_PORT inside the subgraphs' range, say):
  // each is free now, and the second would fail after the first has started.
  const first = new Map<number, PlannedPort>();
  for (const p of ports.filter((p) => p.port !== 0)) {
    const earlier = first.get(p.port);
    if (earlier) problems.push(`${p.setting}: port ${p.port} (${p.what}) is also ${earlier.what}'s (${earlier.setting}); give each its own port`);
    else first.set(p.port, p);
  }
  for (const p of ports.filter((p) => p.port !== 0)) {
    const err = await tryListen(p.host, p.port);
    if (!err) continue;
    const where = `${p.host}:${p.port} (${p.what})`;
    if (err.code === "EADDRINUSE") problems.push(`${p.setting}: ${where} is already in use by another process; stop it or set ${p.setting} to a free port`);
    else if (err.code === "EADDRNOTAVAIL") problems.push(`HOST: cannot listen on ${p.host}, which is not an address of this machine`);
    else if (err.code === "EACCES") problems.push(`${p.setting}: ${where} needs privileges this process does not have; set ${p.setting} to a port above 1023`);
    else problems.push(`${p.setting}: cannot listen on ${where} (${err.code ?? err.message})`);
  }
  if (problems.length) throw new PortUnavailableError([...new Set(problems)].join("\n"));
}
