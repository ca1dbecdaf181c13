import type { Response } from "express";

/** Content negotiation of TAXII 2.1 (1.6.8): one media type for every request and answer. */
export const TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1";
export const STIX_MEDIA_TYPE = "application/stix+json;version=2.1";

interface MediaRange {
  type: string;
  params: Map<string, string>;
}

function parseMediaRange(text: string): MediaRange {
  const [type = "", ...rest] = text.split(";").map((p) => p.trim());
  const params = new Map<string, string>();
  for (const p of rest) {
    const at = p.indexOf("=");
    if (at > 0) params.set(p.slice(0, at).trim().toLowerCase(), p.slice(at + 1).trim().replace(/^"|"$/g, ""));
  }
  return { type: type.toLowerCase(), params };
}

/** Whether a media range names TAXII 2.1: without a version, or with version=2.1. */
function isTaxii21(range: MediaRange): boolean {
  const version = range.params.get("version");
  return range.type === "application/taxii+json" && (version === undefined || version === "2.1");
}

/** Whether an Accept header lets the hub answer in TAXII 2.1 (no header: anything goes). */
export function acceptsTaxii(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === "") return true;
  return accept.split(",").some((part) => {
    const range = parseMediaRange(part);
    if (range.params.get("q") !== undefined && Number(range.params.get("q")) === 0) return false;
    return isTaxii21(range) || range.type === "application/*" || range.type === "*/*";
  });
}

export function isTaxiiContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && isTaxii21(parseMediaRange(contentType));
}

export function sendTaxii(res: Response, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.status(status).set("content-type", TAXII_MEDIA_TYPE).set("content-length", String(Buffer.byteLength(text))).end(text);
}
