import { timingSafeEqual } from "node:crypto";
import type { KeyRing } from "../../../src/crypto/keyed-hash.js";
import type { StixObjectFilter, StixPosition } from "../stix-object.query.js";

/**
 * The `next` of a TAXII page (and the `after` of GraphQL `stixObjects`): where the page ended, the
 * filter it was read with, the list it belongs to and the org it was issued to, signed with the hub's
 * key ring (IDENTIFIER_HASH_KEYS, shared by every replica), so that it needs no server state, works on
 * any replica and after a restart, and cannot be altered. Visibility is applied again on every page:
 * the signature only keeps a token to the list and filter it was issued for.
 */
export interface PageToken {
  /** The collection id, or the name of the GraphQL list. */
  list: string;
  org: string;
  filter: StixObjectFilter;
  after: StixPosition;
}

const b64 = (data: Buffer | string) => Buffer.from(data).toString("base64url");

export function signPageToken(keys: KeyRing, token: PageToken): string {
  const body = b64(JSON.stringify(token));
  const { keyId, digest } = keys.hash(`taxii-page:${body}`);
  return `${body}.${keyId}.${b64(digest)}`;
}

/** The token, or null when it is not one the hub signed (altered, truncated, made up). */
export function readPageToken(keys: KeyRing, text: string): PageToken | null {
  const [body, keyId, signature, extra] = text.split(".");
  if (!body || !keyId || !signature || extra !== undefined) return null;
  const given = Buffer.from(signature, "base64url");
  const expected = keys.hashesForMatching(`taxii-page:${body}`).find((h) => h.keyId === keyId)?.digest;
  if (!expected || given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    return JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as PageToken;
  } catch {
    return null;
  }
}
