import { randomUUID } from "node:crypto";
import { GraphQLJSONObject } from "graphql-scalars";
import { Arg, Authorized, Ctx, Field, InputType, Int, ObjectType, Query, Resolver } from "type-graphql";
import type { Tlp } from "../../src/auth/tlp.js";
import { ORG_ID_PATTERN } from "../../src/auth/viewer.js";
import { badInput } from "../../src/errors.js";
import { PageInfo, TlpEnum } from "../../src/graphql/common.types.js";
import type { Context } from "../../src/graphql/context.js";
import { markingDefinitionsFor } from "./stix-object.export.js";
import { StixObjectQuery, type StixObjectFilter, type VersionMatch } from "./stix-object.query.js";
import { timestampKey } from "./stix/version.js";
import { readPageToken, signPageToken } from "./taxii/paging-token.js";

/** The STIX store's read side in GraphQL: the same reader, visibility and export rule as TAXII. */

@InputType({ description: "Which stored STIX objects; every condition given must hold" })
class StixObjectsFilter {
  @Field(() => [String], { nullable: true, description: "STIX types, such as indicator or malware" })
  types?: string[] | null;

  @Field(() => [String], { nullable: true, description: "STIX ids" })
  ids?: string[] | null;

  @Field(() => [TlpEnum], { nullable: true, description: "The levels the objects are held at" })
  tlp?: Tlp[] | null;

  @Field(() => String, { nullable: true, description: "Only this org's own copies" })
  owner?: string | null;

  @Field(() => Date, { nullable: true, description: "Added to the hub strictly after this instant" })
  addedAfter?: Date | null;

  @Field(() => [String], { nullable: true, description: "'last' (the default), 'first', 'all', or STIX timestamps of the versions wanted" })
  versions?: string[] | null;
}

@ObjectType({ description: "A page of stored STIX objects, oldest added first" })
class StixObjectsPage {
  @Field(() => GraphQLJSONObject, { description: "A STIX 2.1 bundle of the page's objects, plus the TLP marking definitions they refer to" })
  bundle!: Record<string, unknown>;

  @Field(() => Int, { description: "Stored objects in this page (the marking definitions added are not counted)" })
  count!: number;

  @Field(() => PageInfo, { description: "Pass endCursor as `after` for the next page" })
  pageInfo!: PageInfo;
}

const DEFAULT_PAGE = 100;
const LIST = "graphql/stixObjects";
const TYPE = /^[a-z0-9][a-z0-9-]{0,249}$/;
const ID = /^[a-z0-9][a-z0-9-]{0,249}--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

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
    types: checkList(f?.types, TYPE, "types", "a STIX type"),
    ids: checkList(f?.ids, ID, "ids", "a STIX id"),
    specVersions: null,
    addedAfter: f?.addedAfter ? f.addedAfter.toISOString() : null,
    versions: versionsOf(f?.versions),
  };
}

@Resolver()
export class StixObjectResolver {
  @Authorized("indicators:read")
  @Query(() => StixObjectsPage, { description: "Stored STIX objects the viewer may see, as TAXII serves them; keyset pages in the order added" })
  async stixObjects(
    @Arg("filter", () => StixObjectsFilter, { nullable: true }) filter: StixObjectsFilter | null,
    @Arg("first", () => Int, { nullable: true, description: "Page size, 1 to TAXII_MAX_PAGE_SIZE (default 100)" }) first: number | null,
    @Arg("after", () => String, { nullable: true, description: "endCursor of the previous page, with the same filter" }) after: string | null,
    @Ctx() ctx: Context,
  ): Promise<StixObjectsPage> {
    const max = ctx.hub.config.taxii.TAXII_MAX_PAGE_SIZE;
    const size = first ?? Math.min(DEFAULT_PAGE, max);
    if (!Number.isInteger(size) || size < 1 || size > max) throw badInput(`first: must be from 1 to ${max}`, "first");
    const keys = ctx.hub.identifierKeys;
    const wanted = filterOf(filter);
    let position = null;
    if (after) {
      const token = readPageToken(keys, after);
      if (!token || token.list !== LIST || token.org !== ctx.viewer.org) throw badInput("after: not a cursor of stixObjects", "after");
      if (JSON.stringify(token.filter) !== JSON.stringify(wanted)) throw badInput("after: a cursor of another filter; page with the filter it came with", "after");
      position = token.after;
    }
    const page = await new StixObjectQuery(ctx).page(wanted, size, position);
    const objects = page.objects.map((o) => o.object);
    const last = page.objects[page.objects.length - 1];
    const endCursor = last ? signPageToken(keys, { list: LIST, org: ctx.viewer.org, filter: wanted, after: { dateAdded: last.dateAdded, seq: last.seq } }) : null;
    const bundle = { type: "bundle", id: `bundle--${randomUUID()}`, ...(objects.length ? { objects: [...markingDefinitionsFor(objects), ...objects] } : {}) };
    return { bundle, count: objects.length, pageInfo: { hasNextPage: page.more, endCursor } };
  }
}
