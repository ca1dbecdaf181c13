import { request, type IncomingMessage, type ServerResponse } from "node:http";
import type { Logger } from "../src/logger.js";

/**
 * /taxii2/… on the gateway's port: passed to the indicators subgraph, which serves TAXII 2.1 (it holds
 * the STIX store and checks the token itself, as it does for GraphQL). Bodies stream both ways, so a
 * large envelope or page is never held whole here; the request's Host goes along, so the URLs that
 * discovery writes are the gateway's.
 */

const TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1";
const REQUEST_HEADERS = ["authorization", "accept", "content-type", "content-length", "transfer-encoding", "host", "x-request-id", "x-forwarded-proto"];
/** Hop-by-hop: they describe one connection, not the answer. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer"]);

export const isTaxiiPath = (path: string) => path === "/taxii2" || path.startsWith("/taxii2/");

function taxiiError(res: ServerResponse, status: number, title: string, description: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify({ title, description, http_status: String(status) });
  res.writeHead(status, { "content-type": TAXII_MEDIA_TYPE, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** `subgraphUrl`: the indicators subgraph's GraphQL URL (its TAXII routes are beside it), if it is served. */
export function proxyTaxii(req: IncomingMessage, res: ServerResponse, subgraphUrl: string | undefined, log: Logger): void {
  if (!subgraphUrl) {
    taxiiError(res, 503, "Service Unavailable", "the indicators subgraph, which serves TAXII, is not configured");
    req.resume();
    return;
  }
  const target = new URL(req.url ?? "/", subgraphUrl);
  const headers: Record<string, string | string[]> = {};
  for (const name of REQUEST_HEADERS) {
    const value = req.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  const upstream = request(target, { method: req.method, headers }, (answer) => {
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
    }
    res.writeHead(answer.statusCode ?? 502, out);
    answer.pipe(res);
    answer.on("error", () => res.destroy());
  });
  upstream.on("error", (err) => {
    log.warn({ err, path: target.pathname }, "TAXII request to the indicators subgraph failed");
    taxiiError(res, 502, "Bad Gateway", "the indicators subgraph did not answer; retry later");
  });
  // A client that goes away takes its upstream request with it.
  res.on("close", () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}
