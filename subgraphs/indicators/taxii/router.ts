import { randomUUID } from "node:crypto";
import express, { type ErrorRequestHandler, type NextFunction, type Request, type Response, type Router } from "express";
import { hasScope, type Scope } from "../../../src/auth/viewer.js";
import { isDatabaseUnavailable } from "../../../src/db/unavailable.js";
import { isGraphQLError } from "../../../src/errors.js";
import type { Context } from "../../../src/graphql/context.js";
import type { SubgraphRouteKit } from "../../../src/graphql/subgraph.js";
import { StixImportService } from "../stix-import.service.js";
import { collectionOf, collectionResource, collectionsOf, type Collection } from "./collections.js";
import { acceptsTaxii, isTaxiiContentType, sendTaxii, TAXII_MEDIA_TYPE } from "./content.js";
import { apiRootResource, discoveryResource } from "./discovery.js";
import { errorMessage, forbidden, notFound, TaxiiError } from "./errors.js";
import { getManifest } from "./manifest.js";
import { deleteObject, getObject, getObjects, getVersions, postObjects } from "./objects.js";
import { statusResource } from "./status.js";

/**
 * TAXII 2.1 under /taxii2/: discovery, one API root (/taxii2/api/), its collections, objects,
 * manifests and import statuses. The same bearer tokens as GraphQL, checked by the same verifier;
 * `indicators:read` to read, `indicators:write` to post and delete.
 */
export function taxiiRoutes(router: Router, kit: SubgraphRouteKit): void {
  const { config, log: hubLog } = kit.hub;
  const log = hubLog.child({ component: "taxii" });
  const maxContent = config.taxii.TAXII_MAX_CONTENT_LENGTH;
  const maxPage = config.taxii.TAXII_MAX_PAGE_SIZE;
  const keys = kit.hub.identifierKeys;
  const taxii = express.Router();

  const ctxOf = (res: Response) => res.locals.taxii as Context;
  const need = (res: Response, scope: Scope) => {
    if (!hasScope(ctxOf(res).viewer, scope)) throw forbidden(`this needs the scope '${scope}'`);
  };
  const collection = (req: Request, res: Response): Collection => {
    const found = collectionOf(ctxOf(res).viewer, String(req.params.collectionId));
    if (!found) throw notFound(`collection ${String(req.params.collectionId).slice(0, 80)}: no such collection`);
    return found;
  };
  const readable = (req: Request, res: Response): Collection => {
    need(res, "indicators:read");
    return collection(req, res);
  };

  taxii.use(async (req: Request, res: Response, next: NextFunction) => {
    if (!acceptsTaxii(req.get("accept"))) throw new TaxiiError(406, "Not Acceptable", `Accept must allow ${TAXII_MEDIA_TYPE}`);
    let viewer;
    try {
      viewer = await kit.authenticate(req.get("authorization"));
    } catch (err) {
      if (isGraphQLError(err) && err.extensions?.code === "UNAUTHENTICATED") throw new TaxiiError(401, "Unauthorized", err.message);
      throw err;
    }
    if (!hasScope(viewer, "indicators:read") && !hasScope(viewer, "indicators:write")) {
      throw forbidden("this needs the scope 'indicators:read' (or 'indicators:write' to post)");
    }
    res.locals.taxii = await kit.contextFor(viewer, req.get("x-request-id"));
    next();
  });

  taxii.get("/", (req, res) => sendTaxii(res, 200, discoveryResource(req)));
  taxii.get("/api/", (_req, res) => sendTaxii(res, 200, apiRootResource(maxContent)));
  taxii.get("/api/collections/", (_req, res) => sendTaxii(res, 200, { collections: collectionsOf(ctxOf(res).viewer).map(collectionResource) }));
  taxii.get("/api/collections/:collectionId/", (req, res) => sendTaxii(res, 200, collectionResource(collection(req, res))));
  taxii.get("/api/collections/:collectionId/manifest/", (req, res) => getManifest(req, res, ctxOf(res), keys, readable(req, res), maxPage));
  taxii.get("/api/collections/:collectionId/objects/", (req, res) => getObjects(req, res, ctxOf(res), keys, readable(req, res), maxPage));
  taxii.post(
    "/api/collections/:collectionId/objects/",
    (req, res, next) => {
      if (!isTaxiiContentType(req.get("content-type"))) {
        throw new TaxiiError(415, "Unsupported Media Type", `Content-Type must be ${TAXII_MEDIA_TYPE}`);
      }
      need(res, "indicators:write");
      collection(req, res);
      next();
    },
    express.json({ type: () => true, limit: maxContent }),
    (req, res) => postObjects(req, res, ctxOf(res), collection(req, res)),
  );
  taxii.get("/api/collections/:collectionId/objects/:objectId/", (req, res) => getObject(req, res, ctxOf(res), keys, readable(req, res), maxPage));
  taxii.delete("/api/collections/:collectionId/objects/:objectId/", (req, res) => {
    need(res, "indicators:write");
    return deleteObject(req, res, ctxOf(res), collection(req, res));
  });
  taxii.get("/api/collections/:collectionId/objects/:objectId/versions/", (req, res) =>
    getVersions(req, res, ctxOf(res), keys, readable(req, res), maxPage),
  );
  taxii.get("/api/status/:statusId/", async (req, res) => {
    const status = await new StixImportService(ctxOf(res)).status(String(req.params.statusId));
    if (!status) throw notFound(`status ${String(req.params.statusId).slice(0, 80)}: no such import of yours`);
    sendTaxii(res, 200, statusResource(status));
  });
  taxii.use((req) => {
    throw notFound(`${req.method} ${req.baseUrl}${req.path}: no such TAXII endpoint`);
  });

  const errors: ErrorRequestHandler = (err, _req, res, _next) => {
    if (err instanceof TaxiiError) {
      if (err.status === 401) res.set("www-authenticate", 'Bearer realm="watchfloor"');
      sendTaxii(res, err.status, errorMessage(err.status, err.title, err.description));
    } else if (err?.type === "entity.too.large") {
      sendTaxii(res, 413, errorMessage(413, "Payload Too Large", `the body exceeds max_content_length (${maxContent} bytes)`));
    } else if (typeof err?.status === "number" && err.status >= 400 && err.status < 500) {
      sendTaxii(res, 400, errorMessage(400, "Bad Request", "the body is not valid JSON"));
    } else if (isGraphQLError(err) && err.extensions?.code === "BAD_USER_INPUT") {
      // The import's own refusals of the envelope as a whole (too many objects): they name the property.
      sendTaxii(res, 400, errorMessage(400, "Bad Request", err.message));
    } else if (isDatabaseUnavailable(err)) {
      sendTaxii(res, 503, errorMessage(503, "Service Unavailable", "the hub's database is unreachable; retry later"));
    } else {
      const correlationId = randomUUID();
      log.error({ correlationId, err }, "unexpected TAXII error");
      sendTaxii(res, 500, errorMessage(500, "Internal Error", `reference ${correlationId}`, correlationId));
    }
  };
  taxii.use(errors);
  router.use("/taxii2", taxii);
}
