import type { ErrorObject } from "ajv";
import { CUSTOM_PROPERTIES_SCHEMA, IDENTIFIER_PATTERN, isRealDate, MILLIS_PATTERN, nodesUnder, schemaFileOf, TIMESTAMP_PATTERN } from "./schema-registry.js";

/** What is wrong with a STIX object: the JSON path of the property in it, and why, for a human. */
export interface StixProblem {
  property: string;
  message: string;
}

/** The path of `key` (a property name, or an index when `container` is a list) under `path`. */
export function childPath(path: string, key: string | number, container: unknown): string {
  if (Array.isArray(container)) return `${path}[${key}]`;
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(key))) return path ? `${path}.${key}` : String(key);
  return `${path}['${key}']`;
}

/** `external_references[1].source_name` from `/external_references/1/source_name`, looking at the data. */
function propertyPath(data: unknown, pointer: string, last?: string): string {
  const parts = pointer.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (last !== undefined) parts.push(last);
  let path = "";
  let at = data;
  for (const part of parts) {
    path = childPath(path, part, at);
    at = at !== null && typeof at === "object" ? (at as Record<string, unknown>)[part] : undefined;
  }
  return path;
}

/** The branches' errors that do not fit the given values weigh more: `not` is the schema saying "not this one". */
function mismatch(e: ErrorObject): number {
  if (e.keyword === "not") return 2;
  return ["enum", "const", "type", "pattern", "format"].includes(e.keyword) ? 1 : 0;
}

const under = (path: string, parent: string) => path === parent || path.startsWith(`${parent}/`);

/**
 * ajv reports every failing branch of a `oneOf`/`anyOf`, then the combinator itself. Each such group is
 * replaced by the errors of the branch that came closest (fewest wrong values, then fewest errors,
 * then the first): ajv reports a group's errors just before its combinator, and the branch an error
 * belongs to is the one whose schema nodes hold the node the error comes from.
 */
function collapse(errors: ErrorObject[]): ErrorObject[] {
  const out: ErrorObject[] = [];
  for (const e of errors) {
    if (e.keyword === "if" || e.keyword === "propertyNames") continue; // their inner errors say it
    if (e.keyword !== "oneOf" && e.keyword !== "anyOf") {
      out.push(e);
      continue;
    }
    const file = schemaFileOf(e.parentSchema as object);
    const branches = (e.schema as object[]).map((b) => nodesUnder(b, file));
    const groups: ErrorObject[][] = branches.map(() => []);
    while (out.length) {
      const last = out.at(-1)!;
      const i = under(last.instancePath, e.instancePath) ? branches.findIndex((b) => b.has(last.parentSchema as object)) : -1;
      if (i < 0) break;
      groups[i]!.unshift(out.pop()!);
    }
    const tried = groups.filter((g) => g.length > 0);
    if (e.params.passingSchemas || tried.length === 0) {
      out.push(e);
      continue;
    }
    const score = (g: ErrorObject[]) => [g.reduce((n, x) => n + mismatch(x), 0), g.length];
    let best = tried[0]!;
    for (const g of tried.slice(1)) {
      const [m, n] = score(g);
      const [bm, bn] = score(best);
      if (m! < bm! || (m === bm && n! < bn!)) best = g;
    }
    // Alternatives that each ask for a different property: say so once.
    if (tried.length > 1 && tried.every((g) => g.length === 1 && g[0]!.keyword === "required" && g[0]!.instancePath === e.instancePath)) {
      const names = tried.map((g) => g[0]!.params.missingProperty as string);
      out.push({ ...tried[0]![0]!, keyword: "requiredOneOf", params: { missingProperty: names[0], names } });
    } else out.push(...best);
  }
  return out;
}

const TYPE_NAMES: Record<string, string> = { string: "a string", array: "a list", object: "an object", integer: "an integer", number: "a number", boolean: "true or false", null: "null" };
const show = (v: unknown) => (typeof v === "string" ? `'${v}'` : JSON.stringify(v));
const TIMESTAMP_RULE = "not a STIX timestamp (YYYY-MM-DDTHH:mm:ss[.s+]Z)";
const TIMESTAMP = new RegExp(TIMESTAMP_PATTERN);
export const IDENTIFIER_RULE = "must be an identifier of the form type--uuid";

/** The reserved names core.json refuses with `not: { anyOf: [{ required: [...] }] }`, present in the data. */
function reservedPresent(e: ErrorObject, data: unknown): string | undefined {
  const anyOf = (e.schema as { anyOf?: { required?: string[] }[] }).anyOf;
  const names = anyOf?.flatMap((s) => s.required ?? []) ?? [];
  return names.find((n) => data !== null && typeof data === "object" && n in data);
}

function valueAt(data: unknown, pointer: string): unknown {
  let at = data;
  for (const part of pointer.split("/").slice(1)) at = (at as Record<string, unknown> | undefined)?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  return at;
}

/** One ajv error as a problem. */
function problemOf(e: ErrorObject, object: unknown): StixProblem {
  const at = (last?: string) => propertyPath(object, e.instancePath, last);
  const p = e.params as Record<string, any>;
  switch (e.keyword) {
    case "required":
      return { property: at(p.missingProperty), message: "required property missing" };
    case "requiredOneOf":
      return { property: at(p.missingProperty), message: `required: one of ${p.names.join(", ")}` };
    case "type": {
      const types = ([] as string[]).concat(p.type.split?.(",") ?? p.type);
      return { property: at(), message: `must be ${types.map((t) => TYPE_NAMES[t] ?? t).join(" or ")}` };
    }
    case "enum":
      return { property: at(), message: p.allowedValues.length === 1 ? `must be ${show(p.allowedValues[0])}` : `must be one of ${p.allowedValues.slice(0, 10).map(show).join(", ")}` };
    case "const":
      return { property: at(), message: `must be ${show(p.allowedValue)}` };
    case "pattern":
      return { property: e.propertyName !== undefined ? at(e.propertyName) : at(), message: patternMessage(p.pattern, valueAt(object, e.instancePath), e.propertyName) };
    case "format":
      return { property: at(), message: `must be a valid ${p.format === "uri" ? "URI" : p.format === "email" ? "email address" : p.format === "idn-hostname" ? "host name" : p.format}` };
    case "minItems":
      return { property: at(), message: p.limit === 1 ? "must not be an empty list" : `must hold at least ${p.limit} items` };
    case "maxItems":
      return { property: at(), message: `must hold at most ${p.limit} items` };
    case "minProperties":
      return { property: at(), message: "must not be empty" };
    case "minLength":
      return { property: at(), message: `must be at least ${p.limit} characters` };
    case "maxLength":
      return { property: at(), message: `must be at most ${p.limit} characters` };
    case "minimum":
    case "exclusiveMinimum":
    case "maximum":
    case "exclusiveMaximum":
      return { property: at(), message: `must be ${p.comparison} ${p.limit}` };
    case "additionalProperties": {
      const parent = e.instancePath.split("/").at(-1);
      const message = e.parentSchema === CUSTOM_PROPERTIES_SCHEMA
        ? "not a valid property name (a lower-case letter, then lower-case letters, digits or _, 3 to 250 in all)"
        : parent === "extensions"
          ? "not a valid extension name (<name>-ext or extension-definition--<uuid>)"
          : "property not allowed here";
      return { property: at(p.additionalProperty), message };
    }
    case "dependentRequired":
      return { property: at(p.property), message: `requires ${p.deps}` };
    case "not": {
      const reserved = reservedPresent(e, valueAt(object, e.instancePath));
      if (reserved) return { property: at(reserved), message: "a reserved property name, not allowed in STIX 2.1" };
      const schema = e.schema as { required?: string[]; pattern?: string };
      if (schema.required?.length === 1) return { property: at(schema.required[0]), message: "not allowed with the other values of this object" };
      if (schema.pattern) return { property: at(), message: `must not match ${schema.pattern}` };
      return { property: at(), message: "value not allowed here" };
    }
    case "oneOf":
      return { property: at(), message: "matches more than one of the forms the schema allows" };
    default:
      return { property: at(), message: e.message ?? e.keyword };
  }
}

function patternMessage(pattern: string, value: unknown, propertyName?: string): string {
  if (propertyName !== undefined) return "not an allowed name here";
  if (pattern === IDENTIFIER_PATTERN) return IDENTIFIER_RULE;
  if (pattern === TIMESTAMP_PATTERN) {
    return typeof value === "string" && TIMESTAMP.test(value) && !isRealDate(value) ? "not a real date" : TIMESTAMP_RULE;
  }
  if (pattern === MILLIS_PATTERN) return "must be precise to the millisecond (YYYY-MM-DDTHH:mm:ss.sssZ)";
  const prefix = /^\^\(?([a-z|-]+?)\)?--$/.exec(pattern);
  if (prefix) return `must be an identifier of type ${prefix[1]!.split("|").join(" or ")}`;
  return pattern.length <= 60 ? `does not match ${pattern}` : "is not of the form the schema requires";
}

/** ajv's errors as problems, combinator noise collapsed, leaving out those at or under a path in `skip` (already reported). */
export function problemsOf(errors: ErrorObject[], object: unknown, skip: ReadonlySet<string>): StixProblem[] {
  const inSkipped = (property: string) => [...skip].some((s) => property === s || property.startsWith(`${s}.`) || property.startsWith(`${s}[`));
  return collapse(errors).map((e) => problemOf(e, object)).filter((p) => !inSkipped(p.property));
}
