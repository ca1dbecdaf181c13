import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { query } from "../src/db/sql.js";
import { validateStixBundle, validateStixObject } from "../subgraphs/indicators/stix/schema-validation.js";
import { orgId, startTestHub, TEST_HASH_KEYS, type TestHub } from "./support/hub.js";
import { pythonVenv, runPython } from "./support/python.js";

const TAXII = "application/taxii+json;version=2.1";
const AMBER_MARKING = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
const GREEN_MARKING = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
// Small, so that the 413 needs no large upload.
const HUB_ENV = { IDENTIFIER_HASH_KEYS: TEST_HASH_KEYS, TAXII_MAX_CONTENT_LENGTH: String(256 * 1024) };

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

function indicator(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const n = Math.floor(Math.random() * 250) + 1;
  return {
    type: "indicator",
    spec_version: "2.1",
    id: `indicator--${randomUUID()}`,
    created: "2026-01-01T00:00:00.000Z",
    modified: "2026-01-01T00:00:00.000Z",
    name: "C2 address",
    pattern: `[ipv4-addr:value = '198.51.100.${n}']`,
    pattern_type: "stix",
    valid_from: "2026-01-01T00:00:00Z",
    ...overrides,
  };
}

describe("TAXII 2.1 through the gateway", () => {
  let t: TestHub;
  let base: string;
  const A = orgId("taxii-a");
  const B = orgId("taxii-b");
  const tokens: Record<string, string> = {};

  async function taxii(path: string, token: string | null, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { accept: TAXII, ...(token ? { authorization: `Bearer ${token}` } : {}) };
    if (init.body !== undefined) headers["content-type"] = TAXII;
    const res = await fetch(`${base}${path}`, {
      method: init.method ?? (init.body !== undefined ? "POST" : "GET"),
      headers: { ...headers, ...init.headers },
      body: init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body),
    });
    const text = await res.text();
    expect(res.headers.get("content-type"), `${path}: ${text.slice(0, 200)}`).toBe(TAXII);
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  }

  async function collectionsOf(token: string): Promise<any[]> {
    const res = await taxii("/taxii2/api/collections/", token);
    expect(res.status).toBe(200);
    return res.body.collections;
  }
  const byTitle = (collections: any[], title: string) => collections.find((c) => c.title === title)!;

  /** POSTs an envelope and polls its status until complete. */
  async function post(token: string, collectionId: string, objects: unknown[]): Promise<any> {
    const res = await taxii(`/taxii2/api/collections/${collectionId}/objects/`, token, { body: { objects } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    let status = res.body;
    for (let i = 0; status.status !== "complete" && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await taxii(`/taxii2/api/status/${status.id}/`, token)).body;
    }
    return status;
  }

  /** Every object of a listing, following `next`. */
  async function pageAll(path: string, token: string, limit: number): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const sep = path.includes("?") ? "&" : "?";
      const res = await taxii(`${path}${sep}limit=${limit}${next ? `&next=${encodeURIComponent(next)}` : ""}`, token);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      ids.push(...(res.body.objects ?? []).map((o: any) => o.id));
      next = res.body.more ? res.body.next : undefined;
      pages++;
      expect(pages).toBeLessThan(200);
    } while (next);
    return { ids, pages };
  }

  beforeAll(async () => {
    t = await startTestHub(HUB_ENV);
    base = new URL(t.gatewayUrl).origin;
    tokens.A = await t.token(A, "PROVIDER", ["indicators:read", "indicators:write"]);
    tokens.B = await t.token(B, "PROVIDER", ["indicators:read", "indicators:write"]);
    tokens.readOnlyB = await t.token(B, "PROVIDER", ["indicators:read"]);
    tokens.noScope = await t.token(B, "PROVIDER", ["incidents:read"]);
    // Each org's first request provisions it.
    for (const token of [tokens.A, tokens.B]) expect((await t.gql("{ viewer { org } }", {}, token)).errors).toBeUndefined();
  });
  afterAll(() => t?.stop());

  it("answers discovery and the API root with the gateway's own address", async () => {
    const discovery = await taxii("/taxii2/", tokens.A);
    expect(discovery.status).toBe(200);
    expect(discovery.body).toMatchObject({ title: "Watchfloor", default: `${base}/taxii2/api/`, api_roots: [`${base}/taxii2/api/`] });
    const root = await taxii("/taxii2/api/", tokens.A);
    expect(root.body).toMatchObject({ versions: [TAXII], max_content_length: 256 * 1024 });
  });

  it("lists the shared collections of each level and the caller's own, with ids that are the same after a restart", async () => {
    const a = await collectionsOf(tokens.A);
    const b = await collectionsOf(tokens.B);
    expect(a.map((c) => c.title)).toEqual([
      "TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED",
      `${A} at TLP:CLEAR`, `${A} at TLP:GREEN`, `${A} at TLP:AMBER`, `${A} at TLP:AMBER+STRICT`, `${A} at TLP:RED`,
    ]);
    expect(byTitle(a, "TLP:AMBER")).toMatchObject({ can_read: true, can_write: false, media_types: ["application/stix+json;version=2.1"] });
    expect(byTitle(a, `${A} at TLP:AMBER`)).toMatchObject({ can_read: true, can_write: true });
    // The shared ones are everybody's; the own ones are nobody else's.
    expect(a.slice(0, 5).map((c) => c.id)).toEqual(b.slice(0, 5).map((c) => c.id));
    const ownOfA = a.slice(5).map((c) => c.id);
    for (const id of ownOfA) {
      expect(b.some((c) => c.id === id)).toBe(false);
      expect((await taxii(`/taxii2/api/collections/${id}/`, tokens.B)).status).toBe(404);
      expect((await taxii(`/taxii2/api/collections/${id}/objects/`, tokens.B)).status).toBe(404);
    }
    const readOnly = await collectionsOf(tokens.readOnlyB);
    expect(byTitle(readOnly, `${B} at TLP:GREEN`)).toMatchObject({ can_read: true, can_write: false });
    expect((await taxii(`/taxii2/api/collections/${ownOfA[1]}/`, tokens.A)).body.title).toBe(`${A} at TLP:GREEN`);
  });

  it("refuses a missing or bad token (401), a missing scope (403), an Accept without TAXII 2.1 (406), another Content-Type (415), a body over max_content_length (413)", async () => {
    const none = await taxii("/taxii2/api/collections/", null);
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ title: "Unauthorized", http_status: "401" });
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await taxii("/taxii2/api/collections/", "not-a-token")).status).toBe(401);
    expect((await taxii("/taxii2/api/collections/", tokens.noScope)).status).toBe(403);
    const greenOfB = byTitle(await collectionsOf(tokens.readOnlyB), `${B} at TLP:GREEN`).id;
    const readOnlyPost = await taxii(`/taxii2/api/collections/${greenOfB}/objects/`, tokens.readOnlyB, { body: { objects: [indicator()] } });
    expect(readOnlyPost.status).toBe(403);

    for (const accept of ["application/json", "application/taxii+json;version=2.0", "text/html"]) {
      const res = await taxii("/taxii2/", tokens.A, { headers: { accept } });
      expect(res.status, accept).toBe(406);
      expect(res.body.http_status).toBe("406");
    }
    for (const accept of ["application/taxii+json", "*/*", `application/json, ${TAXII}`]) {
      expect((await taxii("/taxii2/", tokens.A, { headers: { accept } })).status, accept).toBe(200);
    }
    const greenOfA = byTitle(await collectionsOf(tokens.A), `${A} at TLP:GREEN`).id;
    const json = await taxii(`/taxii2/api/collections/${greenOfA}/objects/`, tokens.A, { body: { objects: [] }, headers: { "content-type": "application/json" } });
    expect(json.status).toBe(415);
    const big = await taxii(`/taxii2/api/collections/${greenOfA}/objects/`, tokens.A, { body: { objects: [indicator({ description: "x".repeat(300 * 1024) })] } });
    expect(big.status).toBe(413);
    expect(big.body.http_status).toBe("413");
    const broken = await taxii(`/taxii2/api/collections/${greenOfA}/objects/`, tokens.A, { body: "{not json" });
    expect(broken.status).toBe(400);
    expect(JSON.stringify(broken.body)).not.toMatch(/at |SyntaxError|select /);
    expect((await taxii(`/taxii2/api/collections/${greenOfA}/objects/?limit=0`, tokens.A)).body.description).toMatch(/^limit:/);
    expect((await taxii(`/taxii2/api/collections/${greenOfA}/objects/?added_after=yesterday`, tokens.A)).body.description).toMatch(/^added_after:/);
    expect((await taxii(`/taxii2/api/collections/${greenOfA}/objects/?match[id]=nope`, tokens.A)).status).toBe(400);
  });

  it("imports a posted envelope, polled until complete, and exports objects with the TLP they are held at", async () => {
    const mine = await collectionsOf(tokens.A);
    const amber = byTitle(mine, `${A} at TLP:AMBER`).id;
    const objects = [indicator(), indicator({ object_marking_refs: [GREEN_MARKING] })];
    const status = await post(tokens.A, amber, objects);
    expect(status).toMatchObject({ status: "complete", total_count: 2, success_count: 2, failure_count: 0, pending_count: 0 });
    expect(status.successes.map((s: any) => s.id).sort()).toEqual(objects.map((o) => o.id).sort());
    // Another org's status does not exist for it.
    expect((await taxii(`/taxii2/api/status/${status.id}/`, tokens.B)).status).toBe(404);

    const got = await taxii(`/taxii2/api/collections/${amber}/objects/`, tokens.A);
    expect(got.body.objects.map((o: any) => o.id)).toEqual([objects[0]!.id]);
    // Held at AMBER without a marking of its own: exported with the AMBER marking, never lower.
    expect(got.body.objects[0].object_marking_refs).toEqual([AMBER_MARKING]);
    const { object_marking_refs: _added, ...verbatim } = got.body.objects[0];
    expect(verbatim).toEqual(objects[0]);
    const green = await taxii(`/taxii2/api/collections/${byTitle(mine, `${A} at TLP:GREEN`).id}/objects/?match[id]=${objects[1]!.id}`, tokens.A);
    expect(green.body.objects).toEqual([objects[1]]);
    expect(got.headers.get("x-taxii-date-added-first")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it("keeps an AMBER object of one org out of every collection of another, by id, manifest, versions and next tokens, unless shared with it", async () => {
    const mine = await collectionsOf(tokens.A);
    const amberOfA = byTitle(mine, `${A} at TLP:AMBER`).id;
    const secrets = [indicator(), indicator()];
    await post(tokens.A, amberOfA, secrets);
    const secret = secrets[0]!.id as string;
    const theirs = await collectionsOf(tokens.B);
    for (const c of theirs) {
      const listed = await pageAll(`/taxii2/api/collections/${c.id}/objects/`, tokens.B, 1000);
      expect(listed.ids, c.title).not.toContain(secret);
      expect((await taxii(`/taxii2/api/collections/${c.id}/objects/${secret}/`, tokens.B)).status).toBe(404);
      expect((await taxii(`/taxii2/api/collections/${c.id}/objects/${secret}/versions/`, tokens.B)).status).toBe(404);
      const manifest = await taxii(`/taxii2/api/collections/${c.id}/manifest/?limit=1000`, tokens.B);
      expect((manifest.body.objects ?? []).map((o: any) => o.id)).not.toContain(secret);
    }
    // A's own next token is refused to B, on B's collection and on A's (which B cannot see at all).
    const sharedAmber = byTitle(theirs, "TLP:AMBER").id;
    const first = await taxii(`/taxii2/api/collections/${amberOfA}/objects/?limit=1`, tokens.A);
    expect(first.body.more).toBe(true);
    expect((await taxii(`/taxii2/api/collections/${sharedAmber}/objects/?next=${encodeURIComponent(first.body.next)}`, tokens.B)).status).toBe(400);
    expect((await taxii(`/taxii2/api/collections/${amberOfA}/objects/?next=${encodeURIComponent(first.body.next)}`, tokens.B)).status).toBe(404);
    // A's shared AMBER collection holds it; B's does once the object is shared with B.
    const inShared = await pageAll(`/taxii2/api/collections/${sharedAmber}/objects/`, tokens.A, 1000);
    expect(inShared.ids).toContain(secret);
    const em = t.hub.subgraphs.find((s) => s.name === "indicators")!.orm.em.fork();
    await query(em, `update indicators.stix_object set shared_with = array[$1] where owner = $2 and id = $3`, [B, A, secret]);
    const nowShared = await taxii(`/taxii2/api/collections/${sharedAmber}/objects/${secret}/`, tokens.B);
    expect(nowShared.status).toBe(200);
    expect(nowShared.body.objects[0].object_marking_refs).toEqual([AMBER_MARKING]);
  });

  it("honours match[type], match[id], match[version], match[spec_version] and added_after; lists versions; answers the manifest", async () => {
    const greenOfA = byTitle(await collectionsOf(tokens.A), `${A} at TLP:GREEN`).id;
    const v1 = indicator({ modified: "2026-02-01T00:00:00.000Z" });
    const v2 = { ...v1, modified: "2026-03-01T00:00:00.500Z", name: "renamed" };
    const malware = { type: "malware", spec_version: "2.1", id: `malware--${randomUUID()}`, created: "2026-01-01T00:00:00.000Z", modified: "2026-01-01T00:00:00.000Z", name: "Dropper", is_family: false };
    expect((await post(tokens.A, greenOfA, [v1, malware])).success_count).toBe(2);
    const between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 10));
    const second = await post(tokens.A, greenOfA, [v2]);
    expect(second.success_count, JSON.stringify(second)).toBe(1);
    const objects = `/taxii2/api/collections/${greenOfA}/objects/`;
    const ids = (res: Answer) => (res.body.objects ?? []).map((o: any) => `${o.id}@${o.modified}`);

    expect(ids(await taxii(`${objects}?match[id]=${v1.id}`, tokens.A))).toEqual([`${v1.id}@${v2.modified}`]);
    expect(ids(await taxii(`${objects}?match[id]=${v1.id}&match[version]=first`, tokens.A))).toEqual([`${v1.id}@${v1.modified}`]);
    expect(ids(await taxii(`${objects}?match[id]=${v1.id}&match[version]=all`, tokens.A))).toEqual([`${v1.id}@${v1.modified}`, `${v1.id}@${v2.modified}`]);
    // The same instant at another precision is the same version.
    expect(ids(await taxii(`${objects}?match[id]=${v1.id}&match[version]=2026-03-01T00:00:00.5Z`, tokens.A))).toEqual([`${v1.id}@${v2.modified}`]);
    expect(ids(await taxii(`${objects}?match[type]=malware`, tokens.A))).toEqual([`${malware.id}@${malware.modified}`]);
    expect(ids(await taxii(`${objects}?match[type]=malware&match[spec_version]=2.0`, tokens.A))).toEqual([]);
    expect(ids(await taxii(`${objects}?match[type]=malware,indicator&match[id]=${v1.id},${malware.id}&match[version]=all&added_after=${between}`, tokens.A))).toEqual([`${v1.id}@${v2.modified}`]);
    const one = await taxii(`${objects}${v1.id}/?match[version]=all`, tokens.A);
    // GREEN without a marking of their own: exported with the GREEN marking.
    expect(one.body.objects).toEqual([v1, v2].map((o) => ({ ...o, object_marking_refs: [GREEN_MARKING] })));

    const versions = await taxii(`${objects}${v1.id}/versions/`, tokens.A);
    expect(versions.body).toEqual({ more: false, versions: [v1.modified, v2.modified] });
    const manifest = await taxii(`/taxii2/api/collections/${greenOfA}/manifest/?match[id]=${v1.id},${malware.id}&match[version]=all`, tokens.A);
    expect(manifest.body.objects).toEqual([
      { id: v1.id, date_added: expect.any(String), version: v1.modified, media_type: "application/stix+json;version=2.1" },
      { id: malware.id, date_added: expect.any(String), version: malware.modified, media_type: "application/stix+json;version=2.1" },
      { id: v1.id, date_added: expect.any(String), version: v2.modified, media_type: "application/stix+json;version=2.1" },
    ]);
    expect(manifest.headers.get("x-taxii-date-added-last")).toBe(manifest.body.objects[2].date_added);
  });

  it("deletes the owner's own versions only, and the indicator follows", async () => {
    const mine = await collectionsOf(tokens.A);
    const greenOfA = byTitle(mine, `${A} at TLP:GREEN`).id;
    const v1 = indicator({ modified: "2026-04-01T00:00:00.000Z" });
    const v2 = { ...v1, modified: "2026-05-01T00:00:00.000Z" };
    await post(tokens.A, greenOfA, [v1, v2]);
    const greenOfB = byTitle(await collectionsOf(tokens.B), `${B} at TLP:GREEN`).id;
    const sharedGreen = byTitle(mine, "TLP:GREEN").id;
    expect((await taxii(`/taxii2/api/collections/${greenOfB}/objects/${v1.id}/`, tokens.B, { method: "DELETE" })).status).toBe(404);
    expect((await taxii(`/taxii2/api/collections/${sharedGreen}/objects/${v1.id}/`, tokens.B, { method: "DELETE" })).status).toBe(403);
    expect((await taxii(`/taxii2/api/collections/${sharedGreen}/objects/${v1.id}/`, tokens.A, { method: "DELETE" })).status).toBe(403);

    const newest = await t.gql(`query($id: ID!) { indicator(id: $id) { id } }`, { id: v1.id }, tokens.A);
    expect(newest.errors).toBeUndefined();
    expect((await taxii(`/taxii2/api/collections/${greenOfA}/objects/${v1.id}/?match[version]=${v2.modified}`, tokens.A, { method: "DELETE" })).status).toBe(200);
    expect((await taxii(`/taxii2/api/collections/${greenOfA}/objects/${v1.id}/versions/`, tokens.A)).body.versions).toEqual([v1.modified]);
    expect((await taxii(`/taxii2/api/collections/${greenOfA}/objects/${v1.id}/`, tokens.A, { method: "DELETE" })).status).toBe(200);
    expect((await taxii(`/taxii2/api/collections/${greenOfA}/objects/${v1.id}/`, tokens.A)).status).toBe(404);
    expect((await taxii(`/taxii2/api/collections/${greenOfA}/objects/${v1.id}/`, tokens.A, { method: "DELETE" })).status).toBe(404);
  });

  describe("paging over 5,000 objects added at one instant", () => {
    const P = orgId("taxii-paging");
    let token: string;
    let collection: string;
    const seeded = new Set<string>();

    beforeAll(async () => {
      token = await t.token(P, "PROVIDER", ["indicators:read", "indicators:write"]);
      collection = byTitle(await collectionsOf(token), `${P} at TLP:GREEN`).id;
      const em = t.hub.subgraphs.find((s) => s.name === "indicators")!.orm.em.fork();
      const rows = await query<{ id: string }>(
        em,
        `insert into indicators.stix_object (owner, id, type, version, version_key, spec_version, tlp, tlp_marked, object, date_added)
         select $1, s.id, 'indicator', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000000000Z', '2.1', 'GREEN', false,
                jsonb_build_object('type', 'indicator', 'spec_version', '2.1', 'id', s.id, 'created', '2026-01-01T00:00:00.000Z',
                  'modified', '2026-01-01T00:00:00.000Z', 'pattern', '[ipv4-addr:value = ''198.51.100.' || (s.n % 250 + 1) || ''']',
                  'pattern_type', 'stix', 'valid_from', '2026-01-01T00:00:00Z'),
                '2026-06-01T12:00:00.123456Z'
           from (select n, 'indicator--' || gen_random_uuid() as id from generate_series(1, 5000) n) s
         returning id`,
        [P],
      );
      for (const r of rows) seeded.add(r.id);
    });

    for (const limit of [100, 1000]) {
      it(`returns each exactly once with limit ${limit}`, async () => {
        const { ids, pages } = await pageAll(`/taxii2/api/collections/${collection}/objects/`, token, limit);
        expect(pages).toBe(5000 / limit);
        expect(ids).toHaveLength(5000);
        expect(new Set(ids)).toEqual(seeded);
        const manifest = await pageAll(`/taxii2/api/collections/${collection}/manifest/`, token, limit);
        expect(manifest.ids).toHaveLength(5000);
      });
    }

    it("takes a next token on a second hub on the same database, and refuses a tampered one", async () => {
      const first = await taxii(`/taxii2/api/collections/${collection}/objects/?limit=1000`, token);
      const next: string = first.body.next;
      const second = await startTestHub(HUB_ENV);
      try {
        const token2 = await second.token(P, "PROVIDER", ["indicators:read"]);
        const ids: string[] = first.body.objects.map((o: any) => o.id);
        // The rest from the second hub, starting from the first hub's token.
        for (let after: string | undefined = next; after; ) {
          const res = await fetch(`${new URL(second.gatewayUrl).origin}/taxii2/api/collections/${collection}/objects/?limit=1000&next=${encodeURIComponent(after)}`, {
            headers: { accept: TAXII, authorization: `Bearer ${token2}` },
          });
          const body: any = await res.json();
          expect(res.status, JSON.stringify(body)).toBe(200);
          ids.push(...body.objects.map((o: any) => o.id));
          after = body.more ? body.next : undefined;
        }
        expect(ids).toHaveLength(5000);
        expect(new Set(ids)).toEqual(seeded);
      } finally {
        await second.stop();
      }
      const [payload, keyId, signature] = next.split(".");
      const decoded = JSON.parse(Buffer.from(payload!, "base64url").toString());
      // The position moved back to the start: the same filter and list, but not what the hub signed.
      const forged = Buffer.from(JSON.stringify({ ...decoded, after: { dateAdded: "2000-01-01T00:00:00.000000Z", seq: "0" } })).toString("base64url");
      for (const bad of [`${forged}.${keyId}.${signature}`, `${payload}.${keyId}.${signature!.slice(0, -2)}AA`, "garbage"]) {
        const res = await taxii(`/taxii2/api/collections/${collection}/objects/?next=${encodeURIComponent(bad)}`, token);
        expect(res.status).toBe(400);
        expect(res.body.description).toMatch(/^next:/);
      }
      // A token keeps to the filter it was issued with.
      expect((await taxii(`/taxii2/api/collections/${collection}/objects/?match[type]=malware&next=${encodeURIComponent(next)}`, token)).status).toBe(400);
    });

    it("pages the same objects in GraphQL stixObjects, as bundles that validate against the OASIS schemas", async () => {
      const Q = `query($f: StixObjectsFilter, $first: Int, $after: String) { stixObjects(filter: $f, first: $first, after: $after) { bundle count pageInfo { hasNextPage endCursor } } }`;
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 10; page++) {
        const res: any = await t.gql(Q, { f: { owner: P, tlp: ["GREEN"] }, first: 1000, after }, token);
        expect(res.errors).toBeUndefined();
        const { bundle, count, pageInfo } = res.data.stixObjects;
        expect(stixProblems(bundle).slice(0, 3)).toEqual([]);
        const indicators = bundle.objects.filter((o: any) => o.type === "indicator");
        expect(indicators).toHaveLength(count);
        // GREEN without a marking of its own: exported with the GREEN marking, whose definition is in the bundle.
        expect(indicators[0].object_marking_refs).toEqual([GREEN_MARKING]);
        expect(bundle.objects.some((o: any) => o.id === GREEN_MARKING)).toBe(true);
        seen.push(...indicators.map((o: any) => o.id));
        if (!pageInfo.hasNextPage) break;
        after = pageInfo.endCursor;
      }
      expect(seen).toHaveLength(5000);
      expect(new Set(seen)).toEqual(seeded);
      const other = await t.gql(Q, { f: { owner: P, types: ["malware"] }, first: 10, after }, token);
      expect(other.errors?.[0]?.message).toMatch(/^after:/);
    });
  });

  it("serves OASIS's taxii2-client: posts an envelope and pages with as_pages", async (ctx) => {
    const venv = await pythonVenv(["taxii2-client"]);
    if (!venv.ok) {
      console.warn(`skipped: no Python environment with taxii2-client (${venv.reason})`);
      ctx.skip(venv.reason);
      return;
    }
    const token = await t.token(orgId("taxii-py"), "PROVIDER", ["indicators:read", "indicators:write"]);
    const collection = (await collectionsOf(token)).find((c) => c.title.endsWith("at TLP:GREEN"))!.id;
    const objects = [indicator(), indicator(), indicator()];
    const script = `
import json, sys, requests
from taxii2client.v21 import Collection, as_pages
class Bearer(requests.auth.AuthBase):
    def __call__(self, r):
        r.headers["Authorization"] = "Bearer " + sys.argv[2]
        return r
col = Collection(sys.argv[1], auth=Bearer())
status = col.add_objects({"objects": json.loads(sys.argv[3])}, wait_for_completion=True, poll_interval=0.2, timeout=30)
ids = []
pages = 0
for envelope in as_pages(col.get_objects, per_request=2):
    pages += 1
    ids += [o["id"] for o in envelope.get("objects", [])]
print(json.dumps({"status": status.status, "success_count": status.success_count, "ids": ids, "pages": pages}))
`;
    const out = await runPython(venv, script, [`${base}/taxii2/api/collections/${collection}/`, token, JSON.stringify(objects)]);
    expect(out).toMatchObject({ status: "complete", success_count: 3, pages: 2 });
    expect(out.ids.sort()).toEqual(objects.map((o) => o.id).sort());
  });
});

/** A bundle's problems against the OASIS STIX 2.1 schemas (the hub's own validation): its envelope, then each object's. */
function stixProblems(bundle: any) {
  return [
    ...validateStixBundle(bundle).problems,
    ...(bundle.objects ?? []).flatMap((o: unknown, i: number) =>
      validateStixObject(o).map((p) => ({ ...p, property: `objects[${i}]${p.property ? `.${p.property}` : ""}` }))),
  ];
}
