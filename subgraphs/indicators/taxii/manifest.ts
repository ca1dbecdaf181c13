import type { Request, Response } from "express";
import type { KeyRing } from "../../../src/crypto/keyed-hash.js";
import type { Context } from "../../../src/graphql/context.js";
import type { Collection } from "./collections.js";
import { sendTaxii, STIX_MEDIA_TYPE } from "./content.js";
import { objectQuery } from "./filters.js";
import { readPage, setDateAddedHeaders, versionOf } from "./pages.js";

/** GET …/manifest/ (TAXII 2.1, 5.3): what the objects endpoint would page through, without the objects. */
export async function getManifest(req: Request, res: Response, ctx: Context, keys: KeyRing, collection: Collection, maxPage: number): Promise<void> {
  const page = await readPage(ctx, keys, collection, "manifest", objectQuery(req, maxPage));
  setDateAddedHeaders(res, page.objects);
  sendTaxii(res, 200, {
    more: page.more,
    ...(page.next ? { next: page.next } : {}),
    ...(page.objects.length
      ? { objects: page.objects.map((o) => ({ id: o.id, date_added: o.dateAdded, version: versionOf(o), media_type: STIX_MEDIA_TYPE })) }
      : {}),
  });
}
