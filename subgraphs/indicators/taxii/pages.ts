import type { Response } from "express";
import type { KeyRing } from "../../../src/crypto/keyed-hash.js";
import type { Context } from "../../../src/graphql/context.js";
import { StixObjectQuery, type StixObjectFilter, type StoredStixObject } from "../stix-object.query.js";
import type { Collection } from "./collections.js";
import { badRequest } from "./errors.js";
import type { ObjectQuery } from "./filters.js";
import { readPageToken, signPageToken } from "./paging-token.js";

export interface TaxiiPage {
  objects: StoredStixObject[];
  more: boolean;
  next?: string;
}

/**
 * One page of a collection's objects for an endpoint (`list` tells which, so a `next` of one endpoint
 * or collection is refused by another). The collection's bounds and `fixed` (an endpoint's own
 * conditions, such as the object id in the path) always apply; a `next` carries the rest.
 */
export async function readPage(
  ctx: Context,
  keys: KeyRing,
  collection: Collection,
  list: string,
  q: ObjectQuery,
  fixed: Partial<StixObjectFilter> = {},
): Promise<TaxiiPage> {
  const bounds = { owner: collection.owner, tlp: [collection.tlp] };
  let filter: StixObjectFilter = { versions: "last", ...q.filter, ...fixed, ...bounds };
  let after = null;
  if (q.next !== null) {
    const token = readPageToken(keys, q.next);
    if (!token || token.list !== `${collection.id}/${list}` || token.org !== ctx.viewer.org) {
      throw badRequest("next: not a token this hub issued for this endpoint and collection");
    }
    if (q.filtered && JSON.stringify(token.filter) !== JSON.stringify(filter)) {
      throw badRequest("next: issued for other filter parameters; send the same ones, or none");
    }
    filter = token.filter;
    after = token.after;
  }
  const page = await new StixObjectQuery(ctx).page(filter, q.limit, after);
  const last = page.objects[page.objects.length - 1];
  if (!page.more || !last) return page;
  const next = signPageToken(keys, { list: `${collection.id}/${list}`, org: ctx.viewer.org, filter, after: { dateAdded: last.dateAdded, seq: last.seq } });
  return { ...page, next };
}

/** TAXII's X-TAXII-Date-Added-First and -Last: the date_added of the page's first and last object. */
export function setDateAddedHeaders(res: Response, objects: readonly StoredStixObject[]): void {
  if (!objects.length) return;
  res.set("x-taxii-date-added-first", objects[0]!.dateAdded);
  res.set("x-taxii-date-added-last", objects[objects.length - 1]!.dateAdded);
}

export const versionOf = (o: StoredStixObject) => o.version || o.dateAdded;
