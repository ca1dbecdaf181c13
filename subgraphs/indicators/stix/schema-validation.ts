import { childPath, IDENTIFIER_RULE, problemsOf, type StixProblem } from "./schema-problems.js";
import { CORE_SCHEMA, IDENTIFIER_PATTERN, OBSERVABLE_CORE_SCHEMA, OBSERVABLE_TYPES, SCHEMA_BY_TYPE, schemaErrors } from "./schema-registry.js";

export type { StixProblem };

/**
 * STIX 2.1 objects checked against the OASIS JSON schemas, one object at a time, each problem naming
 * the property. Beyond the schemas: the id's type is the object's type, every `*_ref`/`*_refs` holds
 * identifiers, timestamps are real dates, and STIX 2.0 content is refused as such.
 */

const IDENTIFIER = new RegExp(IDENTIFIER_PATTERN);
const UUID_PART = "--00000000-0000-0000-0000-000000000000".length;
// The schemas' type pattern, written without its nested quantifier (see schema-registry.ts).
const TYPE_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*-?$/;
const STIX_20_OBJECT = "STIX 2.0 is not accepted: a STIX 2.1 object has spec_version '2.1'";
const STIX_20_BUNDLE = "STIX 2.0 is not accepted: a STIX 2.1 bundle has no spec_version";

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return `a ${typeof value}`;
}

const depth = (property: string) => (property.match(/[.[]/g)?.length ?? 0) + (property ? 1 : 0);

/** Each (property, message) once, the deepest property first. */
function tidy(problems: StixProblem[]): StixProblem[] {
  const seen = new Set<string>();
  return problems
    .filter((p) => {
      const key = `${p.property}\u0000${p.message}`;
      return !seen.has(key) && !!seen.add(key);
    })
    .sort((a, b) => depth(b.property) - depth(a.property));
}

/**
 * Every `*_ref` and `*_refs` under `value` must hold identifiers. observed-data's deprecated `objects`
 * is skipped: its references are keys of that dictionary ("0", "1"), not identifiers.
 */
function checkRefs(value: Record<string, unknown>, path: string, report: (property: string, message: string) => void) {
  // Paths are built only for what is reported or descended into: this runs on every object.
  for (const key in value) {
    const v = value[key];
    if (key.endsWith("_ref")) {
      if (typeof v !== "string" || !IDENTIFIER.test(v)) report(childPath(path, key, value), IDENTIFIER_RULE);
    } else if (key.endsWith("_refs")) {
      const at = childPath(path, key, value);
      if (!Array.isArray(v)) report(at, "must be a list of identifiers of the form type--uuid");
      else {
        for (const [i, ref] of v.entries()) if (typeof ref !== "string" || !IDENTIFIER.test(ref)) report(childPath(at, i, v), IDENTIFIER_RULE);
      }
    } else if (v !== null && typeof v === "object" && !(path === "" && key === "objects")) {
      checkRefs(v as Record<string, unknown>, childPath(path, key, value), report);
    }
  }
}

/**
 * The problems of one STIX 2.1 object (SDO, SRO, SCO, marking-definition, extension-definition,
 * language-content, or a custom object), none when it is valid. A custom type is checked against
 * common/core.json, or cyber-observable-core.json when it has no `created`.
 */
export function validateStixObject(object: unknown): StixProblem[] {
  if (object === null || typeof object !== "object" || Array.isArray(object)) {
    return [{ property: "", message: `a STIX object must be a JSON object, not ${kindOf(object)}` }];
  }
  const o = object as Record<string, unknown>;
  const { type, spec_version: version } = o;
  if (type === undefined) return [{ property: "type", message: "required property missing" }];
  // Checked here so that no schema pattern ever runs on a type name that is not one.
  if (typeof type !== "string" || type.length < 3 || type.length > 250 || !TYPE_NAME.test(type)) {
    return [{ property: "type", message: "must be a STIX type name (3 to 250 lower-case letters, digits and -, e.g. indicator)" }];
  }
  if (type === "bundle") return [{ property: "type", message: "a bundle cannot be an object of a bundle" }];
  // STIX 2.0 had no top-level observables, so one without spec_version is STIX 2.1 (where it is optional).
  const observable = OBSERVABLE_TYPES.has(type) || (!SCHEMA_BY_TYPE.has(type) && !("created" in o));
  if (version === "2.0" || (version === undefined && !observable)) return [{ property: "spec_version", message: STIX_20_OBJECT }];
  if (version !== undefined && version !== "2.1") return [{ property: "spec_version", message: "spec_version must be '2.1'" }];

  const problems: StixProblem[] = [];
  const reported = new Set<string>();
  const report = (property: string, message: string) => {
    problems.push({ property, message });
    reported.add(property);
  };
  if (typeof o.id === "string") {
    if (!IDENTIFIER.test(o.id)) report("id", IDENTIFIER_RULE);
    else if (o.id.slice(0, -UUID_PART) !== type) report("id", `must start with the object's type: ${type}--<uuid>`);
  }
  checkRefs(o, "", report);

  const errors = schemaErrors(SCHEMA_BY_TYPE.get(type) ?? (observable ? OBSERVABLE_CORE_SCHEMA : CORE_SCHEMA), o);
  if (errors) problems.push(...problemsOf(errors, o, reported));
  return tidy(problems);
}

/**
 * The problems of a bundle's envelope (type, id, `objects` a list); its objects are checked one by one
 * with validateStixObject.
 */
export function validateStixBundle(bundle: unknown): { problems: StixProblem[] } {
  if (bundle === null || typeof bundle !== "object" || Array.isArray(bundle)) {
    return { problems: [{ property: "", message: `a STIX bundle must be a JSON object, not ${kindOf(bundle)}` }] };
  }
  const b = bundle as Record<string, unknown>;
  const problems: StixProblem[] = [];
  if (b.type !== "bundle") problems.push({ property: "type", message: b.type === undefined ? "required property missing" : "must be 'bundle'" });
  if ("spec_version" in b) problems.push({ property: "spec_version", message: STIX_20_BUNDLE });
  if (b.id === undefined) problems.push({ property: "id", message: "required property missing" });
  else if (typeof b.id !== "string" || !IDENTIFIER.test(b.id) || !b.id.startsWith("bundle--")) {
    problems.push({ property: "id", message: "must be an identifier of the form bundle--uuid" });
  }
  // An empty bundle leaves `objects` out (bundle.json: at least one item when present).
  if (b.objects !== undefined && !Array.isArray(b.objects)) problems.push({ property: "objects", message: "must be a list of STIX objects" });
  else if (Array.isArray(b.objects) && b.objects.length === 0) problems.push({ property: "objects", message: "must not be an empty list (an empty bundle has no objects property)" });
  return { problems };
}
