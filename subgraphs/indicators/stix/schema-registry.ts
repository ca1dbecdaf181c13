import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { domainToASCII } from "node:url";
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { projectRoot } from "../../../src/paths.js";

/**
 * The OASIS STIX 2.1 JSON schemas (`./schemas`, kept as published), loaded into one ajv instance.
 * They are read from the project root, not next to this module, so that the compiled hub under
 * dist/ and the sources under vitest find the same files.
 */

const SCHEMA_DIR = join(projectRoot(), "subgraphs", "indicators", "stix", "schemas");
const BASE = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/";

export const CORE_SCHEMA = `${BASE}common/core.json`;
export const OBSERVABLE_CORE_SCHEMA = `${BASE}common/cyber-observable-core.json`;

type Json = Record<string, unknown>;

/**
 * `anyOf: [{ type: "array", minItems: 1 }, { type: "string" }, …]` (any value of a custom property or
 * dictionary entry) as the one equivalent `{ type: [...], minItems: 1 }`, in memory: ajv builds an
 * error object for every branch that fails before one passes, for every property of every object,
 * and that was most of the time spent on a valid indicator.
 */
function mergeTypeUnions(node: unknown): unknown {
  if (node === null || typeof node !== "object") return node;
  for (const child of Object.values(node)) mergeTypeUnions(child);
  const n = node as Json;
  const branches = n.anyOf as Json[] | undefined;
  const simple = (b: Json) => typeof b.type === "string" && Object.keys(b).every((k) => k === "type" || (k === "minItems" && b.type === "array"));
  if (Array.isArray(branches) && Object.keys(n).length === 1 && branches.every(simple)) {
    delete n.anyOf;
    n.type = branches.map((b) => b.type);
    const array = branches.find((b) => b.type === "array");
    if (array?.minItems !== undefined) n.minItems = array.minItems;
  }
  return node;
}

function load(): { schemas: Map<string, Json>; byType: Map<string, string> } {
  const schemas = new Map<string, Json>();
  const byType = new Map<string, string>();
  for (const dir of ["common", "sdos", "sros", "observables"]) {
    for (const file of readdirSync(join(SCHEMA_DIR, dir)).filter((f) => f.endsWith(".json"))) {
      const schema = mergeTypeUnions(JSON.parse(readFileSync(join(SCHEMA_DIR, dir, file), "utf8"))) as Json;
      schemas.set(schema.$id as string, schema);
      const type = file.slice(0, -".json".length);
      // In common/ only these three are objects of their own; the rest are parts of objects.
      if (dir !== "common" || ["marking-definition", "extension-definition", "language-content"].includes(type)) {
        byType.set(type, schema.$id as string);
      }
    }
  }
  return { schemas, byType };
}

const { schemas, byType } = load();

/** The SDO, SRO, SCO and other object types the schemas define, each with its schema's `$id`. */
export const SCHEMA_BY_TYPE: ReadonlyMap<string, string> = byType;

/** The types whose schema builds on cyber-observable-core.json: they have no `created`/`modified`. */
export const OBSERVABLE_TYPES: ReadonlySet<string> = new Set(readdirSync(join(SCHEMA_DIR, "observables")).map((f) => f.slice(0, -".json".length)));

const common = (name: string) => schemas.get(`${BASE}common/${name}.json`)!;
export const TIMESTAMP_PATTERN = common("timestamp").pattern as string;
export const IDENTIFIER_PATTERN = common("identifier").pattern as string;
/** `created` and `modified` also carry this second pattern (millisecond precision). */
export const MILLIS_PATTERN = ((common("core").properties as any).created.allOf[1].pattern) as string;
/** The schema node custom property names are checked by (`additionalProperties: false`). */
export const CUSTOM_PROPERTIES_SCHEMA = common("properties");

const TIMESTAMP = new RegExp(TIMESTAMP_PATTERN);
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The timestamp's day exists (the pattern alone takes 2023-02-30); second 60 is a leap second. */
export function isRealDate(value: string): boolean {
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(5, 7));
  const day = Number(value.slice(8, 10));
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && !leap ? 28 : DAYS_IN_MONTH[month - 1]!);
}

/**
 * The type-name patterns as published nest quantifiers (`([a-z][a-z0-9]*)+`): a 30-letter name that
 * fails takes seconds to refuse. These match the same names in linear time.
 */
const EQUIVALENT: Record<string, string> = {
  "^([a-z][a-z0-9]*)+(-[a-z0-9]+)*\\-?$": "^[a-z][a-z0-9]*(-[a-z0-9]+)*-?$",
  "^([a-z][a-z0-9]*)+(-[a-z0-9]+)*\\-ext$": "^[a-z][a-z0-9]*(-[a-z0-9]+)*-ext$",
};

/**
 * ajv's regular expressions: the schemas' timestamp pattern also checks the calendar, so that every
 * timestamp in every schema is checked where the schema checks it. No `u` flag: the OASIS patterns
 * escape "-" outside classes, which a unicode regular expression refuses.
 */
const regExp = Object.assign(
  (pattern: string): { test: (s: string) => boolean } => {
    if (pattern !== TIMESTAMP_PATTERN) return new RegExp(EQUIVALENT[pattern] ?? pattern);
    // toString: ajv keys its compiled patterns by it.
    const timestamp = { test: (s: string) => TIMESTAMP.test(s) && isRealDate(s), toString: () => "/stix-timestamp/" };
    return timestamp;
  },
  { code: "stixRegExp" },
);

/**
 * Two instances: `quick` stops at the first error (valid objects, the common case, cost the least:
 * with every error collected, the schemas' `not: { anyOf: [...] }` builds and drops error objects on
 * every valid object); `full` collects every error, each with the schema node it comes from
 * (`verbose`), which the problem translation needs.
 */
function instance(allErrors: boolean): Ajv2020 {
  const ajv = new Ajv2020({ strict: false, allErrors, verbose: allErrors, messages: allErrors, unicodeRegExp: false, code: { regExp } });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addFormat("idn-hostname", (name: string) => HOST_NAME.test(domainToASCII(name)));
  for (const schema of schemas.values()) ajv.addSchema(schema);
  return ajv;
}

// ajv-formats has no idn-hostname (domain-name's value): a name whose ASCII form is a host name.
// Labels may hold "_", as real names do (_dmarc.example.com).
const HOST_NAME = /^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;
const quick = instance(false);
const full = instance(true);

/** The schema's errors for `data`, or null when it is valid (each schema compiled on first use). */
export function schemaErrors(id: string, data: unknown): ErrorObject[] | null {
  if (quick.getSchema(id)!(data)) return null;
  const validate = full.getSchema(id)!;
  validate(data);
  return validate.errors ?? [];
}

/** The schema node a `$ref` in the schema `from` (an `$id`) points to. */
function resolveRef(ref: string, from: string): { node: unknown; id: string } {
  const url = new URL(ref, from);
  const id = `${url.origin}${url.pathname}`;
  let node: unknown = schemas.get(id);
  for (const part of url.hash.replace(/^#\/?/, "").split("/").filter(Boolean)) node = (node as any)?.[decodeURIComponent(part)];
  return { node, id };
}

const reach = new WeakMap<object, Set<object>>();

/** Every schema node under `node` (following `$ref`s): the nodes whose errors belong to that branch. */
export function nodesUnder(node: object, id: string): Set<object> {
  let found = reach.get(node);
  if (found) return found;
  found = new Set();
  const walk = (n: unknown, at: string) => {
    if (n === null || typeof n !== "object" || found!.has(n)) return;
    found!.add(n);
    const ref = (n as Json).$ref;
    if (typeof ref === "string") {
      const target = resolveRef(ref, at);
      walk(target.node, target.id);
    }
    for (const child of Object.values(n)) walk(child, at);
  };
  walk(node, id);
  reach.set(node, found);
  return found;
}

/** The `$id` of the schema file a node belongs to (for resolving the `$ref`s under it). */
const owner = new WeakMap<object, string>();
for (const [id, schema] of schemas) {
  const mark = (n: unknown) => {
    if (n === null || typeof n !== "object") return;
    owner.set(n, id);
    for (const child of Object.values(n)) mark(child);
  };
  mark(schema);
}
export const schemaFileOf = (node: object) => owner.get(node) ?? CORE_SCHEMA;
