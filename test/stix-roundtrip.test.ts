import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateStixBundle, validateStixObject } from "../subgraphs/indicators/stix/schema-validation.js";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";
import { exampleFiles, exampleObjects } from "./support/stix-examples.js";

/** Import then export gives back every object of OASIS's example bundles: same ids, versions, markings, relationships. */

const IMPORT = `mutation($b: JSONObject!, $tlp: TLP!) { importStixBundle(bundle: $b, tlp: $tlp) { status successCount failures { id property message } } }`;
const EXPORT = `query($f: StixObjectsFilter, $after: String) { stixObjects(filter: $f, first: 100, after: $after) { bundle count pageInfo { hasNextPage endCursor } } }`;
const AMBER_2_0 = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";

const key = (o: any) => `${o.id}|${o.modified ?? o.created ?? ""}`;

describe("STIX round trip: import, then export", () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  });
  afterAll(() => t?.stop());

  /** Every page of the org's own objects, each bundle checked against the schemas. */
  async function exportAll(org: string, token: string, filter: Record<string, unknown> = {}): Promise<any[]> {
    const out: any[] = [];
    let after: string | null = null;
    do {
      const res: any = await t.gql(EXPORT, { f: { owner: org, versions: ["all"], ...filter }, after }, token);
      expect(res.errors).toBeUndefined();
      const { bundle, pageInfo } = res.data.stixObjects;
      expect(validateStixBundle(bundle).problems).toEqual([]);
      for (const o of bundle.objects ?? []) expect(validateStixObject(o), o.id).toEqual([]);
      out.push(...(bundle.objects ?? []));
      after = pageInfo.hasNextPage ? pageInfo.endCursor : null;
    } while (after);
    return out;
  }

  for (const file of exampleFiles()) {
    it(`${file}: every object comes back as it was sent`, async () => {
      const org = orgId("roundtrip");
      const token = await t.token(org, "PROVIDER", ["indicators:read", "indicators:write"]);
      const objects = exampleObjects(file);
      const imported = await t.gql(IMPORT, { b: { type: "bundle", id: `bundle--${crypto.randomUUID()}`, objects }, tlp: "CLEAR" }, token);
      expect(imported.errors).toBeUndefined();
      expect(imported.data.importStixBundle.failures).toEqual([]);
      const exported = await exportAll(org, token);
      const byKey = new Map(exported.map((o) => [key(o), o]));
      for (const o of objects) expect(byKey.get(key(o)), key(o)).toEqual(o);
      // Relationships still join what they joined: both ends came back.
      for (const r of objects.filter((o) => o.type === "relationship")) {
        expect(exported.some((o) => o.id === r.source_ref) || !objects.some((o) => o.id === r.source_ref)).toBe(true);
        expect(exported.some((o) => o.id === r.target_ref) || !objects.some((o) => o.id === r.target_ref)).toBe(true);
      }
    });
  }

  it("objects held above CLEAR without a TLP marking of their own are exported with the hub's level; marked ones keep theirs", async () => {
    const org = orgId("roundtrip-amber");
    const token = await t.token(org, "PROVIDER", ["indicators:read", "indicators:write"]);
    const objects = exampleObjects("indicators-for-C2-with-COA.json");
    const imported = await t.gql(IMPORT, { b: { type: "bundle", id: `bundle--${crypto.randomUUID()}`, objects }, tlp: "AMBER" }, token);
    expect(imported.data.importStixBundle.failures).toEqual([]);
    const exported = await exportAll(org, token);
    for (const o of objects) {
      const back = exported.find((e) => key(e) === key(o));
      expect(back.object_marking_refs).toEqual([...(o.object_marking_refs ?? []), AMBER_2_0]);
      expect({ ...back, object_marking_refs: o.object_marking_refs }).toEqual({ ...o, object_marking_refs: o.object_marking_refs });
    }
    // The marking definition the bundle now refers to travels with it.
    expect(exported.some((o) => o.id === AMBER_2_0)).toBe(true);
  });

  it("another org sees none of an AMBER import in its export, and every object of a GREEN one", async () => {
    const owner = orgId("roundtrip-owner");
    const other = orgId("roundtrip-other");
    const ownerToken = await t.token(owner, "PROVIDER", ["indicators:read", "indicators:write"]);
    const otherToken = await t.token(other, "AGENCY", ["indicators:read"]);
    const amber = exampleObjects("indicator-to-campaign-relationship.json");
    await t.gql(IMPORT, { b: { type: "bundle", id: `bundle--${crypto.randomUUID()}`, objects: amber }, tlp: "AMBER" }, ownerToken);
    expect(await exportAll(owner, otherToken)).toEqual([]);
    const green = exampleObjects("malicious-email-indicator-with-attachment.json");
    await t.gql(IMPORT, { b: { type: "bundle", id: `bundle--${crypto.randomUUID()}`, objects: green }, tlp: "GREEN" }, ownerToken);
    const seen = await exportAll(owner, otherToken);
    expect(seen.filter((o) => !o.id.startsWith("marking-definition--")).map(key).sort()).toEqual(green.map(key).sort());
  });
});
