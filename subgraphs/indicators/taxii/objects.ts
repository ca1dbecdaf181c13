import { STIX_ID } from "../stix/identifiers.js";
import type { Request, Response } from "express";
import type { KeyRing } from "../../../src/crypto/keyed-hash.js";
import type { Context } from "../../../src/graphql/context.js";
import { appendEvents } from "../../../src/events/outbox.js";
import { StixImportService } from "../stix-import.service.js";
import { reprojectIndicators } from "../stix-object.projection.js";
import { StixObjectQuery } from "../stix-object.query.js";
import type { Collection } from "./collections.js";
import { sendTaxii } from "./content.js";
import { badRequest, forbidden, notFound } from "./errors.js";
import { objectQuery } from "./filters.js";
import { readPage, setDateAddedHeaders, versionOf, type TaxiiPage } from "./pages.js";
import { statusResource } from "./status.js";

/** The object endpoints of a collection (TAXII 2.1, 5.4 to 5.8). */

function envelope(page: TaxiiPage): Record<string, unknown> {
  return { more: page.more, ...(page.next ? { next: page.next } : {}), ...(page.objects.length ? { objects: page.objects.map((o) => o.object) } : {}) };
}

function objectId(req: Request): string {
  const id = String(req.params.objectId);
  if (!STIX_ID.test(id)) throw badRequest(`object id: '${id.slice(0, 80)}' is not a STIX id`);
  return id;
}

export async function getObjects(req: Request, res: Response, ctx: Context, keys: KeyRing, collection: Collection, maxPage: number): Promise<void> {
  const page = await readPage(ctx, keys, collection, "objects", objectQuery(req, maxPage));
  setDateAddedHeaders(res, page.objects);
  sendTaxii(res, 200, envelope(page));
}

export async function getObject(req: Request, res: Response, ctx: Context, keys: KeyRing, collection: Collection, maxPage: number): Promise<void> {
  const id = objectId(req);
  const page = await readPage(ctx, keys, collection, `objects/${id}`, objectQuery(req, maxPage), { ids: [id] });
  if (!page.objects.length && !page.more) throw notFound(`object ${id}: none in this collection that you may see`);
  setDateAddedHeaders(res, page.objects);
  sendTaxii(res, 200, envelope(page));
}

export async function getVersions(req: Request, res: Response, ctx: Context, keys: KeyRing, collection: Collection, maxPage: number): Promise<void> {
  const id = objectId(req);
  const q = objectQuery(req, maxPage, { versions: false });
  const page = await readPage(ctx, keys, collection, `versions/${id}`, q, { ids: [id], versions: "all" });
  if (!page.objects.length && !page.more) throw notFound(`object ${id}: none in this collection that you may see`);
  setDateAddedHeaders(res, page.objects);
  sendTaxii(res, 200, { more: page.more, ...(page.next ? { next: page.next } : {}), versions: page.objects.map(versionOf) });
}

/** The caller's own versions of the object in this collection (match[version] honoured; all by default). */
export async function deleteObject(req: Request, res: Response, ctx: Context, collection: Collection): Promise<void> {
  if (!collection.canWrite || !collection.owner) throw forbidden(`collection ${collection.id}: not writable by you; delete from your own collection of this level`);
  const id = objectId(req);
  const versions = objectQuery(req, 1).filter.versions ?? "all";
  const deleted = await ctx.em.transactional(async (em) => {
    const n = await new StixObjectQuery({ ...ctx, em }).deleteOwn(id, collection.tlp, versions);
    // The indicator row follows the newest version left (or goes), and its subscribers hear of it.
    if (n) await appendEvents(em, (await reprojectIndicators(em, collection.owner!, [id])).events);
    return n;
  });
  if (!deleted) throw notFound(`object ${id}: none of your own in this collection`);
  sendTaxii(res, 200, {});
}

/** POST an envelope: imported by the STIX import, answered at once with its status (202). */
export async function postObjects(req: Request, res: Response, ctx: Context, collection: Collection): Promise<void> {
  if (!collection.canWrite) throw forbidden(`collection ${collection.id}: not writable by you; post to your own collection of a level`);
  const body = req.body as unknown;
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("body: must be a TAXII envelope (a JSON object with objects)");
  const objects = (body as { objects?: unknown }).objects ?? [];
  if (!Array.isArray(objects)) throw badRequest("objects: must be an array of STIX objects");
  const status = await new StixImportService(ctx).start(objects, { tlp: collection.tlp, sharedWith: [] });
  sendTaxii(res, 202, statusResource(status));
}
