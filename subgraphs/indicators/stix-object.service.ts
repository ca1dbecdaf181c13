import { randomUUID } from "node:crypto";
import { ORG_ID_PATTERN } from "../../src/auth/viewer.js";
import { badInput } from "../../src/errors.js";
import type { Context } from "../../src/graphql/context.js";
import { markingDefinitionsFor } from "./stix-object.export.js";
import type { StixObjectsFilter } from "./stix-object.input.js";
import { StixObjectQuery, type StixObjectFilter, type VersionMatch } from "./stix-object.query.js";
import type { StixObjectsPage } from "./stix-object.type.js";
import { STIX_ID, STIX_TYPE } from "./stix/identifiers.js";
import { timestampKey } from "./stix/version.js";
import { readPageToken, signPageToken } from "./taxii/paging-token.js";

/** GraphQL's pages of the STIX store: the same reader, visibility and export rule as TAXII. */

const DEFAULT_PAGE = 100;
const LIST = "graphql/stixObjects";

function checkList(values: string[] | null | undefined, pattern: RegExp, field: string, what: string): string[] | null {
  if (!values?.length) return null;
  values.forEach((v, i) => {
    if (!pattern.test(v)) throw badInput(`filter.${field}[${i}]: not ${what}`, `filter.${field}[${i}]`);
  });
  return values;
}

function versionsOf(values: string[] | null | undefined): VersionMatch {
  if (!values?.length) return "last";
  if (values.length === 1 && ["last", "first", "all"].includes(values[0]!)) return values[0] as VersionMatch;
  return {
    keys: values.map((v, i) => {
      const key = timestampKey(v);
      if (!key) throw badInput(`filter.versions[${i}]: give 'last', 'first' or 'all' alone, or STIX timestamps`, `filter.versions[${i}]`);
      return key;
    }),
  };
}

function filterOf(f: StixObjectsFilter | null | undefined): StixObjectFilter {
  if (f?.owner != null && !ORG_ID_PATTERN.test(f.owner)) throw badInput("filter.owner: not an org id", "filter.owner");
  return {
    owner: f?.owner ?? null,
    tlp: f?.tlp?.length ? f.tlp : null,
    types: checkList(f?.types, STIX_TYPE, "types", "a STIX type"),
    ids: checkList(f?.ids, STIX_ID, "ids", "a STIX id"),
    specVersions: null,
    addedAfter: f?.addedAfter ? f.addedAfter.toISOString() : null,
    versions: versionsOf(f?.versions),
  };
}

export class StixObjectService {
  constructor(private readonly ctx: Context) {}

  /** One page of the stored objects the viewer may see, as a bundle, with a signed cursor for the next. */
  async page(filter: StixObjectsFilter | null, first: number | null, after: string | null): Promise<StixObjectsPage> {
    const max = this.ctx.hub.config.taxii.TAXII_MAX_PAGE_SIZE;
    const size = first ?? Math.min(DEFAULT_PAGE, max);
    if (!Number.isInteger(size) || size < 1 || size > max) throw badInput(`first: must be from 1 to ${max}`, "first");
    const keys = this.ctx.hub.identifierKeys;
    const wanted = filterOf(filter);
    let position = null;
    if (after) {
      const token = readPageToken(keys, after);
      if (!token || token.list !== LIST || token.org !== this.ctx.viewer.org) throw badInput("after: not a cursor of stixObjects", "after");
      if (JSON.stringify(token.filter) !== JSON.stringify(wanted)) throw badInput("after: a cursor of another filter; page with the filter it came with", "after");
      position = token.after;
    }
    const page = await new StixObjectQuery(this.ctx).page(wanted, size, position);
    const objects = page.objects.map((o) => o.object);
    const last = page.objects[page.objects.length - 1];
    const endCursor = last ? signPageToken(keys, { list: LIST, org: this.ctx.viewer.org, filter: wanted, after: { dateAdded: last.dateAdded, seq: last.seq } }) : null;
    const bundle = { type: "bundle", id: `bundle--${randomUUID()}`, ...(objects.length ? { objects: [...markingDefinitionsFor(objects), ...objects] } : {}) };
    return { bundle, count: objects.length, pageInfo: { hasNextPage: page.more, endCursor } };
  }
}
