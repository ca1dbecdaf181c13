import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../src/paths.js";
import { validateStixBundle, validateStixObject } from "../subgraphs/indicators/stix/schema-validation.js";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";

/** A bundle's problems against the OASIS STIX 2.1 schemas: its envelope, then each object's. */
function stixProblems(bundle: any) {
  return [
    ...validateStixBundle(bundle).problems,
    ...(bundle.objects ?? []).flatMap((o: unknown, i: number) =>
      validateStixObject(o).map((p) => ({ ...p, property: `objects[${i}]${p.property ? `.${p.property}` : ""}` }))),
  ];
}

const EXPORT = `query($f: IndicatorFilter, $first: Int, $after: String) {
  indicatorsStix(filter: $f, first: $first, after: $after) { bundle count pageInfo { hasNextPage endCursor } }
}`;
const PUBLISH = `mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { failed results { indicator { id } } } }`;

describe("STIX 2.1 export", () => {
  let t: TestHub;
  const owner = orgId("stix-cloud");
  const other = orgId("stix-other");
  let ownerToken: string;
  let otherToken: string;

  beforeAll(async () => {
    t = await startTestHub();
    ownerToken = await t.token(owner, "PROVIDER", ["indicators:read", "indicators:write"]);
    otherToken = await t.token(other, "PROVIDER", ["indicators:read", "indicators:write"]);
  });
  afterAll(() => t?.stop());

  it("exports what the viewer may see as bundles that validate against the OASIS schemas, page by page", async () => {
    const published = await t.gql(PUBLISH, {
      input: [
        { type: "IPV4", value: "203.0.113.50", tlp: "GREEN", confidence: 85, labels: ["c2"], description: "C2 for a reseller chain" },
        { type: "SHA256", value: "A".repeat(64), tlp: "RED", validUntil: "2030-01-01T00:00:00Z" },
        { type: "CIDR", value: "2001:db8::/32", tlp: "AMBER_STRICT" },
      ],
    }, ownerToken);
    expect(published.data.publishIndicators.failed).toBe(0);
    const ids = published.data.publishIndicators.results.map((r: any) => r.indicator.id);

    // The validator itself: OASIS's own example passes, and an indicator without its pattern does not.
    const example = JSON.parse(readFileSync(join(projectRoot(), "test", "fixtures", "stix", "examples", "indicator-for-c2-ip-address.json"), "utf8"));
    expect(stixProblems(example)).toEqual([]);
    const { pattern: _dropped, ...patternless } = example.objects[0];
    expect(stixProblems({ ...example, objects: [patternless] })).toEqual([{ property: "objects[0].pattern", message: "required property missing" }]);
    const seen: any[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const res: any = await t.gql(EXPORT, { f: { owner }, first: 2, after }, ownerToken);
      expect(res.errors).toBeUndefined();
      const { bundle, count, pageInfo } = res.data.indicatorsStix;
      expect(stixProblems(bundle)).toEqual([]);
      const indicators = bundle.objects.filter((o: any) => o.type === "indicator");
      expect(indicators).toHaveLength(count);
      // Every reference resolves inside the bundle: the owner's identity and the TLP marking.
      const inBundle = new Set(bundle.objects.map((o: any) => o.id));
      for (const i of indicators) {
        expect(inBundle.has(i.created_by_ref)).toBe(true);
        for (const m of i.object_marking_refs) expect(inBundle.has(m)).toBe(true);
      }
      seen.push(...indicators);
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor;
    }
    expect(seen.map((i) => i.id).sort()).toEqual([...ids].sort());
    const ip = seen.find((i) => i.name === "203.0.113.50");
    expect(ip).toMatchObject({ pattern: "[ipv4-addr:value = '203.0.113.50']", pattern_type: "stix", confidence: 85, labels: ["c2"], revoked: false });
    expect(ip.object_marking_refs).toEqual(["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]);
    const hash = seen.find((i) => i.name === "a".repeat(64));
    expect(hash.object_marking_refs).toEqual(["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]);
    expect(hash.valid_until).toBe("2030-01-01T00:00:00.000Z");
  });

  it("leaves out what the viewer may not see, and says nothing of it", async () => {
    const res = await t.gql(EXPORT, { f: { owner } }, otherToken);
    expect(res.errors).toBeUndefined();
    const indicators = (res.data.indicatorsStix.bundle.objects ?? []).filter((o: any) => o.type === "indicator");
    expect(indicators.map((i: any) => i.name)).toEqual(["203.0.113.50"]); // the GREEN one only
    const text = JSON.stringify(res.data);
    expect(text).not.toContain("a".repeat(64));
    expect(text).not.toContain("2001:db8::/32");
  });

  it("answers an empty selection with a bundle that has no objects", async () => {
    const res = await t.gql(EXPORT, { f: { owner: orgId("nobody") } }, otherToken);
    expect(res.data.indicatorsStix.count).toBe(0);
    expect(res.data.indicatorsStix.bundle.objects).toBeUndefined();
    expect(stixProblems(res.data.indicatorsStix.bundle)).toEqual([]);
  });
});
