import type { Request } from "express";
import type { StixObjectFilter, VersionMatch } from "../stix-object.query.js";
import { STIX_ID, STIX_TYPE } from "../stix/identifiers.js";
import { timestampKey } from "../stix/version.js";
import { badRequest } from "./errors.js";

/**
 * The URL parameters of TAXII's object, manifest and versions endpoints (TAXII 2.1, 3.4 and 3.5),
 * checked one by one: a bad value is a 400 naming the parameter and the value at fault.
 */
export interface ObjectQuery {
  /** The filter parameters as given: absent ones are absent. */
  filter: Omit<StixObjectFilter, "owner" | "tlp" | "versions"> & { versions?: VersionMatch };
  limit: number;
  next: string | null;
  /** Whether any filter parameter was given (a `next` must then come with the same ones). */
  filtered: boolean;
}

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z$/;
const SPEC_VERSION = /^\d\.\d$/;
const MAX_VALUES = 1000;

/** One parameter's text; repeated parameters are joined, as if given comma-separated. */
function param(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.map(String).join(",") : String(value);
}

function list(req: Request, name: string, pattern: RegExp, what: string): string[] | undefined {
  const text = param(req, name);
  if (text === undefined) return undefined;
  const values = text.split(",").map((v) => v.trim());
  if (values.length > MAX_VALUES) throw badRequest(`${name}: at most ${MAX_VALUES} values`);
  for (const v of values) if (!pattern.test(v)) throw badRequest(`${name}: '${v.slice(0, 80)}' is not ${what}`);
  return values;
}

function versions(req: Request): VersionMatch | undefined {
  const values = list(req, "match[version]", /^(last|first|all|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z)$/, "last, first, all or a STIX timestamp");
  if (!values) return undefined;
  if (values.includes("all")) return "all";
  const keywords = values.filter((v) => v === "last" || v === "first");
  if (keywords.length) {
    if (keywords.length !== values.length || new Set(keywords).size > 1) {
      throw badRequest("match[version]: give one of last, first and all, or only timestamps");
    }
    return keywords[0] as "last" | "first";
  }
  const keys = values.map((v) => ({ v, key: timestampKey(v) }));
  const bad = keys.find((k) => k.key === null);
  if (bad) throw badRequest(`match[version]: '${bad.v}' is not a valid timestamp`);
  return { keys: keys.map((k) => k.key!) };
}

export function objectQuery(req: Request, maxPage: number, options: { versions: boolean } = { versions: true }): ObjectQuery {
  const limitText = param(req, "limit");
  let limit = maxPage;
  if (limitText !== undefined) {
    if (!/^\d{1,9}$/.test(limitText) || Number(limitText) < 1) throw badRequest(`limit: '${limitText.slice(0, 40)}' is not a positive integer`);
    // TAXII lets a server answer fewer than asked: a larger limit is cut to the hub's page size.
    limit = Math.min(Number(limitText), maxPage);
  }
  const addedAfter = param(req, "added_after");
  if (addedAfter !== undefined && !TIMESTAMP.test(addedAfter)) throw badRequest(`added_after: '${addedAfter.slice(0, 40)}' is not a timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z)`);
  const filter: ObjectQuery["filter"] = {};
  const types = list(req, "match[type]", STIX_TYPE, "a STIX type");
  const ids = list(req, "match[id]", STIX_ID, "a STIX id");
  const specVersions = list(req, "match[spec_version]", SPEC_VERSION, "a STIX spec version (such as 2.1)");
  const version = options.versions ? versions(req) : undefined;
  if (!options.versions && param(req, "match[version]") !== undefined) throw badRequest("match[version]: not a parameter of this endpoint");
  // Postgres keeps microseconds: a seventh digit and beyond would round the instant up or down.
  if (addedAfter !== undefined) filter.addedAfter = addedAfter.replace(/(\.\d{6})\d+Z$/, "$1Z");
  if (types) filter.types = types;
  if (ids) filter.ids = ids;
  if (specVersions) filter.specVersions = specVersions;
  if (version) filter.versions = version;
  return { filter, limit, next: param(req, "next") ?? null, filtered: Object.keys(filter).length > 0 };
}
