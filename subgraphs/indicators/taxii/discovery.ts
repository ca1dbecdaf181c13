import type { Request } from "express";
import { TAXII_MEDIA_TYPE } from "./content.js";

/** Discovery (TAXII 2.1, 4.1) and the one API root (4.2). */

export const API_ROOT_PATH = "/taxii2/api/";

/**
 * The hub's address as the caller reached it: the gateway passes the caller's Host on, so the URLs are
 * the gateway's. X-Forwarded-Proto (from a TLS proxy in front) gives the scheme.
 */
function baseUrl(req: Request): string {
  const proto = req.get("x-forwarded-proto")?.split(",")[0]?.trim() === "https" ? "https" : "http";
  return `${proto}://${req.get("host") ?? "localhost"}`;
}

export function discoveryResource(req: Request): Record<string, unknown> {
  const root = `${baseUrl(req)}${API_ROOT_PATH}`;
  return {
    title: "Watchfloor",
    description: "STIX 2.1 objects shared between member organisations, under TLP 2.0",
    default: root,
    api_roots: [root],
  };
}

export function apiRootResource(maxContentLength: number): Record<string, unknown> {
  return {
    title: "Watchfloor STIX store",
    description: "One collection per TLP level of what you may see, and your own collections, one per level",
    versions: [TAXII_MEDIA_TYPE],
    max_content_length: maxContentLength,
  };
}
