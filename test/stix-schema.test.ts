import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../src/paths.js";
import { validateStixBundle, validateStixObject } from "../subgraphs/indicators/stix/schema-validation.js";

// The OASIS example bundles (cti-stix2-json-schemas), kept in the repository like the other STIX tests'.
const EXAMPLES = join(projectRoot(), "test", "fixtures", "stix", "examples");
const exampleFiles = [
  ...readdirSync(EXAMPLES).filter((f) => f.endsWith(".json")),
  ...readdirSync(join(EXAMPLES, "threat-reports")).map((f) => `threat-reports/${f}`),
];
const read = (file: string) => JSON.parse(readFileSync(join(EXAMPLES, file), "utf8"));
/** A file holds a bundle or, for a few, one object. */
const objectsOf = (content: any): any[] => (content.type === "bundle" ? content.objects : [content]);

const indicator = () => ({ ...read("indicator-for-c2-ip-address.json").objects[0] });
const ID = "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f";
const TIME = "2024-05-01T10:00:00.000Z";

/** The one problem named for `property`, failing with all of them when there is none. */
function problemAt(object: unknown, property: string) {
  const problems = validateStixObject(object);
  const found = problems.find((p) => p.property === property);
  expect(found, JSON.stringify(problems)).toBeDefined();
  return found!;
}

describe("STIX 2.1 schema validation", () => {
  it.each(exampleFiles)("every object of the OASIS example %s is valid", (file) => {
    const content = read(file);
    if (content.type === "bundle") expect(validateStixBundle(content).problems).toEqual([]);
    for (const object of objectsOf(content)) expect([object.id, validateStixObject(object)]).toEqual([object.id, []]);
  });

  it("validates 5,000 generated indicators with no problem (their speed is a benchmark's, not a test's)", () => {
    const objects = Array.from({ length: 5_000 }, (_, i) => ({
      ...indicator(),
      id: `indicator--${ID.slice(0, -6)}${String(i).padStart(6, "0")}`,
      pattern: `[ipv4-addr:value = '198.51.${i % 256}.${(i >> 8) % 256}']`,
    }));
    expect(objects.flatMap((o) => validateStixObject(o))).toEqual([]);
  });

  it("refuses what is not a JSON object", () => {
    for (const [value, kind] of [["indicator", "a string"], [null, "null"], [[indicator()], "a list"]] as const) {
      expect(validateStixObject(value)).toEqual([{ property: "", message: `a STIX object must be a JSON object, not ${kind}` }]);
    }
  });

  it("names a timestamp that is not one, and a date that does not exist", () => {
    expect(problemAt({ ...indicator(), modified: "yesterday" }, "modified").message).toBe("not a STIX timestamp (YYYY-MM-DDTHH:mm:ss[.s+]Z)");
    expect(problemAt({ ...indicator(), modified: "2024-13-01T00:00:00.000Z" }, "modified").message).toBe("not a STIX timestamp (YYYY-MM-DDTHH:mm:ss[.s+]Z)");
    expect(problemAt({ ...indicator(), valid_from: "2023-02-29T00:00:00Z" }, "valid_from").message).toBe("not a real date");
    expect(validateStixObject({ ...indicator(), valid_from: "2024-02-29T00:00:00Z" })).toEqual([]);
    expect(problemAt({ ...indicator(), created: "2024-05-01T10:00:00Z" }, "created").message).toMatch(/millisecond/);
  });

  it("names an id that is not an identifier, or not one of the object's type", () => {
    expect(validateStixObject({ ...indicator(), id: "indicator--not-a-uuid" })).toEqual([{ property: "id", message: "must be an identifier of the form type--uuid" }]);
    expect(validateStixObject({ ...indicator(), id: `malware--${ID}` })).toEqual([{ property: "id", message: "must start with the object's type: indicator--<uuid>" }]);
    // The UUID part is RFC 4122: version 1 to 5, variant 8, 9, a or b.
    expect(problemAt({ ...indicator(), id: "indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f" }, "id").message).toBe("must be an identifier of the form type--uuid");
  });

  it("names a required property that is missing, as the schema requires it", () => {
    const { pattern: _p, ...patternless } = indicator();
    expect(validateStixObject(patternless)).toEqual([{ property: "pattern", message: "required property missing" }]);
    const malware = { type: "malware", spec_version: "2.1", id: `malware--${ID}`, created: TIME, modified: TIME };
    expect(validateStixObject(malware)).toEqual([{ property: "is_family", message: "required property missing" }]);
    // A malware family is named; an instance need not be.
    expect(validateStixObject({ ...malware, is_family: true })).toEqual([{ property: "name", message: "required property missing" }]);
    expect(validateStixObject({ ...malware, is_family: false })).toEqual([]);
  });

  it("names the property inside a list, once, out of the schema's alternatives", () => {
    const refs = [{ source_name: "capec", external_id: "CAPEC-163" }, { url: "https://example.com/report" }];
    expect(validateStixObject({ ...indicator(), external_references: refs })).toEqual([{ property: "external_references[1].source_name", message: "required property missing" }]);
    const cve = [{ source_name: "cve", external_id: "CVE-12" }];
    expect(validateStixObject({ ...indicator(), external_references: cve })).toEqual([{ property: "external_references[0].external_id", message: expect.stringMatching(/^does not match \^CVE-/) }]);
  });

  it("refuses STIX 2.0 objects and other spec versions, naming spec_version", () => {
    const { spec_version: _v, ...stix20 } = indicator();
    expect(validateStixObject(stix20)).toEqual([{ property: "spec_version", message: "STIX 2.0 is not accepted: a STIX 2.1 object has spec_version '2.1'" }]);
    expect(validateStixObject({ ...indicator(), spec_version: "2.0" })).toEqual([{ property: "spec_version", message: "STIX 2.0 is not accepted: a STIX 2.1 object has spec_version '2.1'" }]);
    expect(validateStixObject({ ...indicator(), spec_version: "3.0" })).toEqual([{ property: "spec_version", message: "spec_version must be '2.1'" }]);
  });

  it("names a marking reference that is not an identifier, by its index", () => {
    const object = { ...indicator(), object_marking_refs: ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "TLP:GREEN"] };
    expect(validateStixObject(object)).toEqual([{ property: "object_marking_refs[1]", message: "must be an identifier of the form type--uuid" }]);
    expect(problemAt({ ...indicator(), created_by_ref: "acme" }, "created_by_ref").message).toBe("must be an identifier of the form type--uuid");
    // Custom references too, where no schema says so.
    expect(problemAt({ ...indicator(), x_acme_source_ref: "acme" }, "x_acme_source_ref").message).toBe("must be an identifier of the form type--uuid");
  });

  it("accepts an SCO without created or modified, and without spec_version", () => {
    const ip = { type: "ipv4-addr", spec_version: "2.1", id: `ipv4-addr--${ID}`, value: "198.51.100.3" };
    expect(validateStixObject(ip)).toEqual([]);
    const { spec_version: _v, ...bare } = ip;
    expect(validateStixObject(bare)).toEqual([]);
    expect(problemAt({ ...ip, value: "198.51.100.300" }, "value").message).toBe("is not of the form the schema requires");
  });

  it("keeps a custom object, checked against the common properties", () => {
    const thing = { type: "x-acme-thing", spec_version: "2.1", id: `x-acme-thing--${ID}`, created: TIME, modified: TIME, x_acme_rating: 4, name: "Thing" };
    expect(validateStixObject(thing)).toEqual([]);
    expect(problemAt({ ...thing, modified: "2024-05-01" }, "modified").message).toBe("not a STIX timestamp (YYYY-MM-DDTHH:mm:ss[.s+]Z)");
    expect(problemAt({ ...thing, id: `indicator--${ID}` }, "id").message).toBe("must start with the object's type: x-acme-thing--<uuid>");
    expect(problemAt({ ...thing, AcmeRating: 4 }, "AcmeRating").message).toMatch(/^not a valid property name/);
    // A type name that could make the schemas' pattern backtrack is refused before any pattern runs.
    expect(validateStixObject({ ...thing, type: `${"a".repeat(60)}!` })).toEqual([{ property: "type", message: expect.stringMatching(/^must be a STIX type name/) }]);
  });

  it("accepts an extension definition, and names what it lacks", () => {
    const definition = {
      type: "extension-definition", spec_version: "2.1", id: `extension-definition--${ID}`, created: TIME, modified: TIME,
      created_by_ref: `identity--${ID}`, name: "Acme rating", schema: "https://example.com/acme-rating.json", version: "1.0.0",
      extension_types: ["property-extension"],
    };
    expect(validateStixObject(definition)).toEqual([]);
    expect(problemAt({ ...definition, extension_types: ["new-thing"] }, "extension_types[0]").message).toMatch(/^must be one of 'new-sdo'/);
    const { version: _v, ...versionless } = definition;
    expect(validateStixObject(versionless)).toEqual([{ property: "version", message: "required property missing" }]);
  });

  it("accepts a TLP 2.0 marking definition (the TLP extension) and a TLP 1.0 one, naming a wrong TLP 1.0 name", () => {
    const clear = {
      type: "marking-definition", spec_version: "2.1", id: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
      created: "2022-10-01T00:00:00.000Z", name: "TLP:CLEAR",
      extensions: { "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": { extension_type: "property-extension", tlp_2_0: "clear" } },
    };
    expect(validateStixObject(clear)).toEqual([]);
    const white = {
      type: "marking-definition", spec_version: "2.1", id: "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
      created: "2017-01-20T00:00:00.000Z", definition_type: "tlp", name: "TLP:WHITE", definition: { tlp: "white" },
    };
    expect(validateStixObject(white)).toEqual([]);
    expect(validateStixObject({ ...white, name: "TLP:CLEAR" })).toEqual([{ property: "name", message: "must be 'TLP:WHITE'" }]);
  });

  it("checks a bundle's envelope, refusing a STIX 2.0 bundle", () => {
    const bundle = read("indicator-for-c2-ip-address.json");
    expect(validateStixBundle(bundle)).toEqual({ problems: [] });
    expect(validateStixBundle({ type: "bundle", id: `bundle--${ID}` })).toEqual({ problems: [] });
    expect(validateStixBundle({ ...bundle, spec_version: "2.0" }).problems).toEqual([{ property: "spec_version", message: "STIX 2.0 is not accepted: a STIX 2.1 bundle has no spec_version" }]);
    expect(validateStixBundle({ ...bundle, id: `report--${ID}`, objects: {} }).problems).toEqual([
      { property: "id", message: "must be an identifier of the form bundle--uuid" },
      { property: "objects", message: "must be a list of STIX objects" },
    ]);
    expect(validateStixBundle("bundle").problems).toEqual([{ property: "", message: "a STIX bundle must be a JSON object, not a string" }]);
  });
});
