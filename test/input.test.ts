import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";

/**
 * Bad input to publishIndicators and lookupIndicators through the gateway: each bad item is named in its
 * own result and nothing of it is stored; the good items of the batch are. Then the gateway's limits,
 * which refuse a request before anything executes, and the rule that no error leaks internals.
 */

const PUBLISH = `mutation Publish($input: [IndicatorInput!]!) {
  publishIndicators(input: $input) { published failed results { index error { field message } indicator { id type value tlp sharedWith labels } } }
}`;
const OWNED = `query Owned($f: IndicatorFilter) { indicators(filter: $f, first: 500) { totalCount edges { node { id value } } } }`;
const LOOKUP = `query Lookup($v: [String!]!) { lookupIndicators(values: $v) { id value owner } }`;

interface RawResponse {
  status: number;
  text: string;
  body: any;
}

/** Every response body this file saw, checked at the end for leaked internals. */
const seen: string[] = [];

async function raw(url: string, payload: unknown, token?: string, init: { body?: string } = {}): Promise<RawResponse> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: init.body ?? JSON.stringify(payload),
  });
  const text = await res.text();
  seen.push(text);
  expectNoLeak(text);
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, text, body };
}

const LEAKS = [/\bat \//, /\.ts:\d/, /\.js:\d/, /select /i, /insert into/i, /node_modules/, /stacktrace/i, /\/work\//];
function expectNoLeak(text: string) {
  for (const leak of LEAKS) expect(text, `response leaks ${leak}: ${text.slice(0, 500)}`).not.toMatch(leak);
}

/** A refused request: no data, and an error whose message matches `why`. */
function expectRefusedWhole(res: RawResponse, why: RegExp, code?: string) {
  expect(res.body, `not a GraphQL-shaped JSON body: ${res.text.slice(0, 300)}`).toBeTypeOf("object");
  expect(res.body.data ?? null, res.text.slice(0, 500)).toBeNull();
  expect(res.body.errors?.length, res.text.slice(0, 500)).toBeGreaterThan(0);
  expect(res.body.errors.map((e: any) => e.message).join("\n")).toMatch(why);
  if (code) expect(res.body.errors[0].extensions?.code, res.text.slice(0, 500)).toBe(code);
}

function item(value: string, extra: Record<string, unknown> = {}) {
  return { type: "IPV4", value, tlp: "GREEN", ...extra };
}

describe("bad input to publishIndicators and lookupIndicators", () => {
  let t: TestHub;
  let member: string;

  /** A fresh publishing org and its token. */
  async function publisher(name: string) {
    const org = orgId(name);
    return { org, token: await t.token(org, "PROVIDER", ["indicators:read", "indicators:write"]) };
  }

  /** What this org has stored, revoked or not, by value. */
  async function storedValues(org: string, token: string): Promise<string[]> {
    const res = await t.gql(OWNED, { f: { owner: org, includeRevoked: true } }, token);
    expect(res.errors).toBeUndefined();
    expect(res.data.indicators.totalCount).toBe(res.data.indicators.edges.length);
    return res.data.indicators.edges.map((e: any) => e.node.value).sort();
  }

  beforeAll(async () => {
    t = await startTestHub();
    // A member org: the directory learns of an org from its first valid token.
    member = orgId("input-partner");
    const partner = await t.gql(`{ viewer { org } indicators(first: 1) { totalCount } }`, {}, await t.token(member, "AGENCY", ["indicators:read"]));
    expect(partner.errors).toBeUndefined();
  });
  afterAll(() => t?.stop());

  it("names each bad item of a batch, stores none of it, and stores the good ones", async () => {
    const { org, token } = await publisher("input-mixed");
    const now = Date.now();
    const day = 24 * 3600 * 1000;
    const sha256 = "a".repeat(63) + "b";
    const input = [
      /* 0 */ item("203.0.113.10"),
      /* 1 */ item("203.0.113.300"),
      /* 2 */ item("203.0.113.11", { confidence: 500 }),
      /* 3 */ { type: "DOMAIN", value: `${"a".repeat(100 * 1024)}.example.org`, tlp: "GREEN" },
      /* 4 */ { type: "DOMAIN", value: "Good-Domain.Example.ORG", tlp: "GREEN", labels: ["c2", "phishing"] },
      /* 5 */ item("203.0.113.12", { tlp: "AMBER", sharedWith: ["not-a-member-0000"] }),
      /* 6 */ item("203.0.113.13", { tlp: "AMBER", sharedWith: [member, "Not An Org!"] }),
      /* 7 */ { type: "DOMAIN", value: "bad..example.org", tlp: "GREEN" },
      /* 8 */ { type: "SHA256", value: "abc123", tlp: "GREEN" },
      /* 9 */ { type: "CIDR", value: "10.0.0.0/33", tlp: "GREEN" },
      /* 10 */ item("203.0.113.14", { validFrom: new Date(now + 2 * day).toISOString(), validUntil: new Date(now + day).toISOString() }),
      /* 11 */ item("203.0.113.15", { labels: Array.from({ length: 21 }, (_, i) => `label-${i}`) }),
      /* 12 */ { type: "SHA256", value: sha256.toUpperCase(), tlp: "AMBER", sharedWith: [member] },
      /* 13 */ { type: "CIDR", value: "198.51.100.77/24", tlp: "GREEN" },
      /* 14 */ { type: "MD5", value: "0123456789abcdef0123456789abcdeg", tlp: "GREEN" },
      /* 15 */ item("203.0.113.16", { confidence: -1 }),
    ];
    const expectedErrors: Record<number, [string, RegExp]> = {
      1: ["value", /IPv4/],
      2: ["confidence", /0 to 100/],
      3: ["value", /2048/],
      5: ["sharedWith[0]", /not-a-member-0000.*not a member/],
      6: ["sharedWith[1]", /not an org id/],
      7: ["value", /domain/],
      8: ["value", /SHA256/],
      9: ["value", /prefix|CIDR/],
      10: ["validUntil", /after validFrom/],
      11: ["labels", /20/],
      14: ["value", /MD5/],
      15: ["confidence", /0 to 100/],
    };
    const res = await raw(t.gatewayUrl, { query: PUBLISH, variables: { input } }, token);
    expect(res.status).toBe(200);
    expect(res.body.errors, res.text.slice(0, 500)).toBeUndefined();
    const out = res.body.data.publishIndicators;
    expect(out.results).toHaveLength(input.length);
    expect(out.failed).toBe(Object.keys(expectedErrors).length);
    expect(out.published).toBe(input.length - Object.keys(expectedErrors).length);

    for (const [index, result] of out.results.entries()) {
      expect(result.index).toBe(index);
      const wanted = expectedErrors[index];
      if (wanted) {
        const [field, why] = wanted;
        expect(result.indicator, `item ${index}`).toBeNull();
        expect(result.error, `item ${index}`).not.toBeNull();
        expect(result.error.field, `item ${index}`).toBe(field);
        expect(result.error.message, `item ${index}`).toContain(field);
        expect(result.error.message, `item ${index}`).toMatch(why);
        // The refusal names the problem, not the whole 100 kB value.
        expect(result.error.message.length, `item ${index}`).toBeLessThan(300);
      } else {
        expect(result.error, `item ${index}`).toBeNull();
        expect(result.indicator, `item ${index}`).not.toBeNull();
      }
    }
    expect(out.results[4].indicator).toMatchObject({ type: "DOMAIN", value: "good-domain.example.org", labels: ["c2", "phishing"] });
    expect(out.results[12].indicator).toMatchObject({ value: sha256, tlp: "AMBER", sharedWith: [member] });
    expect(out.results[13].indicator.value).toBe("198.51.100.0/24");

    expect(await storedValues(org, token)).toEqual(["198.51.100.0/24", "203.0.113.10", "good-domain.example.org", sha256].sort());
    const lookup = await t.gql(LOOKUP, { v: ["203.0.113.11", "203.0.113.12", "203.0.113.13", "203.0.113.14", "203.0.113.15", "203.0.113.16", "10.0.0.0/33", "abc123"] }, token);
    expect(lookup.errors).toBeUndefined();
    expect(lookup.data.lookupIndicators).toEqual([]);
  });

  it("refuses a description with a NUL character as a bad item, not as a failed batch", async () => {
    const { org, token } = await publisher("input-nul");
    const res = await raw(
      t.gatewayUrl,
      { query: PUBLISH, variables: { input: [item("192.0.2.44"), item("192.0.2.45", { description: "before\u0000after" })] } },
      token,
    );
    expect(res.body.errors, res.text.slice(0, 500)).toBeUndefined();
    const [good, bad] = res.body.data.publishIndicators.results;
    expect(good.indicator.value).toBe("192.0.2.44");
    expect(bad.indicator).toBeNull();
    expect(bad.error.field).toBe("description");
    expect(bad.error.message).toContain("description");
    expect(await storedValues(org, token)).toEqual(["192.0.2.44"]);
  });

  it("refuses an unknown ObservableType for the whole request, naming the item, and stores nothing", async () => {
    const { org, token } = await publisher("input-enum");
    const res = await raw(t.gatewayUrl, { query: PUBLISH, variables: { input: [item("192.0.2.10"), { type: "FOO", value: "192.0.2.11", tlp: "GREEN" }] } }, token);
    expectRefusedWhole(res, /input\[1\]\.type/, "BAD_USER_INPUT");
    // Where and why, not the value: an input's values may be personal, and messages reach logs.
    expect(res.body.errors[0].message).toMatch(/does not exist in "ObservableType" enum/);
    expect(res.body.errors[0].message).not.toMatch(/FOO/);
    expect(await storedValues(org, token)).toEqual([]);
  });

  it("refuses a batch of 1001 items whole and stores nothing; 1000 items are stored", async () => {
    const { org, token } = await publisher("input-batch");
    const items = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ type: "DOMAIN", value: `${prefix}-${i}.example.net`, tlp: "GREEN" }));
    const over = await raw(t.gatewayUrl, { query: PUBLISH, variables: { input: items(1001, "over") } }, token);
    expectRefusedWhole(over, /1000/, "BAD_USER_INPUT");
    expect(await storedValues(org, token)).toEqual([]);

    const at = await raw(t.gatewayUrl, { query: `mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { published failed } }`, variables: { input: items(1000, "at") } }, token);
    expect(at.body.errors, at.text.slice(0, 500)).toBeUndefined();
    expect(at.body.data.publishIndicators).toEqual({ published: 1000, failed: 0 });
    const count = await t.gql(`query($f: IndicatorFilter) { indicators(filter: $f) { totalCount } }`, { f: { owner: org } }, token);
    expect(count.data.indicators.totalCount).toBe(1000);
  });

  it("stores the same value twice in one batch as one indicator and reports both items with its id", async () => {
    const { org, token } = await publisher("input-twice");
    const res = await raw(
      t.gatewayUrl,
      { query: PUBLISH, variables: { input: [{ type: "DOMAIN", value: "Twice.Example.COM", tlp: "GREEN" }, { type: "DOMAIN", value: "twice.example.com.", tlp: "GREEN", labels: ["second"] }] } },
      token,
    );
    expect(res.body.errors, res.text.slice(0, 500)).toBeUndefined();
    const [a, b] = res.body.data.publishIndicators.results;
    expect(a.error).toBeNull();
    expect(b.error).toBeNull();
    expect(a.indicator.id).toMatch(/^indicator--/);
    expect(b.indicator.id).toBe(a.indicator.id);
    expect(await storedValues(org, token)).toEqual(["twice.example.com"]);
  });

  it("refuses lookupIndicators with 1001 values, and answers 1000", async () => {
    const { token } = await publisher("input-lookup");
    const values = (n: number) => Array.from({ length: n }, (_, i) => `192.0.2.${i % 250}`);
    const over = await raw(t.gatewayUrl, { query: LOOKUP, variables: { v: values(1001) } }, token);
    expectRefusedWhole(over, /1000/, "BAD_USER_INPUT");
    const at = await raw(t.gatewayUrl, { query: LOOKUP, variables: { v: values(1000) } }, token);
    expect(at.body.errors, at.text.slice(0, 500)).toBeUndefined();
    expect(Array.isArray(at.body.data.lookupIndicators)).toBe(true);
  });

  describe("limits refused before execution", () => {
    /** A mutation that would store `value` if it ran; each limit test checks it did not. */
    async function notStored(token: string, ...values: string[]) {
      const res = await t.gql(LOOKUP, { v: values }, token);
      expect(res.errors).toBeUndefined();
      expect(res.data.lookupIndicators).toEqual([]);
    }

    it("refuses a query deeper than MAX_DEPTH (10)", async () => {
      const { token } = await publisher("input-depth");
      let selection = "name";
      for (let i = 0; i < 10; i++) selection = `ofType { ${selection} }`;
      const res = await raw(t.gatewayUrl, { query: `{ __type(name: "Indicator") { fields { type { ${selection} } } } }` }, token);
      expectRefusedWhole(res, /^Query depth limit of 10/i, "LIMIT_EXCEEDED");
      // The same shape within the limit is answered.
      let shallow = "name";
      for (let i = 0; i < 5; i++) shallow = `ofType { ${shallow} }`;
      const ok = await raw(t.gatewayUrl, { query: `{ __type(name: "Indicator") { fields { type { ${shallow} } } } }` }, token);
      expect(ok.body.errors, ok.text.slice(0, 300)).toBeUndefined();
      expect(ok.body.data.__type.fields.length).toBeGreaterThan(0);
    });

    it("refuses a mutation deeper than MAX_DEPTH=3 before it stores anything", async () => {
      const shallow = await startTestHub({ MAX_DEPTH: "3" });
      try {
        const org = orgId("input-depth3");
        const token = await shallow.token(org, "PROVIDER", ["indicators:read", "indicators:write"]);
        const deep = await raw(
          shallow.gatewayUrl,
          { query: `mutation { publishIndicators(input: [{type: IPV4, value: "192.0.2.201", tlp: GREEN}]) { results { indicator { id } } } }` },
          token,
        );
        expectRefusedWhole(deep, /depth limit of 3/i, "LIMIT_EXCEEDED");
        const lookup = await shallow.gql(LOOKUP, { v: ["192.0.2.201"] }, token);
        expect(lookup.data.lookupIndicators).toEqual([]);
        // Within the limit the same hub stores it: the refusal above was the depth.
        const ok = await raw(shallow.gatewayUrl, { query: `mutation { publishIndicators(input: [{type: IPV4, value: "192.0.2.202", tlp: GREEN}]) { published } }` }, token);
        expect(ok.body.errors, ok.text.slice(0, 300)).toBeUndefined();
        expect(ok.body.data.publishIndicators.published).toBe(1);
        const stored = await shallow.gql(LOOKUP, { v: ["192.0.2.202"] }, token);
        expect(stored.data.lookupIndicators).toHaveLength(1);
      } finally {
        await shallow.stop();
      }
    });

    it("refuses more aliases than MAX_ALIASES (15)", async () => {
      const { token } = await publisher("input-aliases");
      const values = Array.from({ length: 16 }, (_, i) => `192.0.2.${100 + i}`);
      const query = `mutation { ${values.map((v, i) => `a${i}: publishIndicators(input: [{type: IPV4, value: "${v}", tlp: GREEN}]) { published }`).join(" ")} }`;
      const res = await raw(t.gatewayUrl, { query }, token);
      expectRefusedWhole(res, /aliases limit of 15/i, "LIMIT_EXCEEDED");
      await notStored(token, ...values);
      const fifteen = await raw(t.gatewayUrl, { query: `{ ${Array.from({ length: 15 }, (_, i) => `v${i}: viewer { org }`).join(" ")} }` }, token);
      expect(fifteen.body.errors, fifteen.text.slice(0, 300)).toBeUndefined();
    });

    it("holds a caller that reaches a subgraph directly to the same limits (twice as loose)", async () => {
      const { token } = await publisher("input-direct");
      const values = Array.from({ length: 31 }, (_, i) => `192.0.2.${150 + i}`);
      const query = `mutation { ${values.map((v, i) => `a${i}: publishIndicators(input: [{type: IPV4, value: "${v}", tlp: GREEN}]) { published }`).join(" ")} }`;
      const res = await raw(t.subgraphUrl("indicators"), { query }, token);
      expectRefusedWhole(res, /aliases limit of 30/i);
      await notStored(token, ...values);
      const items = Array.from({ length: 2000 }, (_, i) => `{type: IPV4, value: "10.9.${Math.floor(i / 250)}.${i % 250}", tlp: GREEN}`);
      const tooLong = await raw(t.subgraphUrl("indicators"), { query: `mutation { publishIndicators(input: [${items.join(", ")}]) { published } }` }, token);
      expectRefusedWhole(tooLong, /more that 20000 tokens/i); // graphql-js spells it so
      await notStored(token, "10.9.0.0", "10.9.7.249");
    });

    it("refuses more tokens than MAX_TOKENS (10000)", async () => {
      const { token } = await publisher("input-tokens");
      // About 11 tokens an item (commas are not tokens): 1000 items, the most a batch may hold, pass 10000.
      const items = Array.from({ length: 1000 }, (_, i) => `{type: IPV4, value: "10.${Math.floor(i / 250)}.${i % 250}.1", tlp: GREEN}`);
      const res = await raw(t.gatewayUrl, { query: `mutation { publishIndicators(input: [${items.join(", ")}]) { published } }` }, token);
      expectRefusedWhole(res, /token limit of 10000/i, "LIMIT_EXCEEDED");
      await notStored(token, "10.0.0.1", "10.3.49.1");
    });

    it("refuses a 5 MB body with 413 and a GraphQL-shaped LIMIT_EXCEEDED error", async () => {
      const { token } = await publisher("input-size");
      const query = `mutation { publishIndicators(input: [{type: IPV4, value: "192.0.2.220", tlp: GREEN}]) { published } }\n#${"x".repeat(5 * 1024 * 1024)}\n`;
      const res = await raw(t.gatewayUrl, { query }, token);
      expect(res.status).toBe(413);
      expectRefusedWhole(res, /limit of 4194304 bytes/, "LIMIT_EXCEEDED");
      await notStored(token, "192.0.2.220");
    });

    it("refuses more batched operations than MAX_BATCHED_OPERATIONS (5), and answers 5", async () => {
      const { token } = await publisher("input-batching");
      const op = (v: string) => ({ query: `mutation { publishIndicators(input: [{type: IPV4, value: "${v}", tlp: GREEN}]) { published } }` });
      const values = Array.from({ length: 6 }, (_, i) => `192.0.2.${230 + i}`);
      const res = await raw(t.gatewayUrl, values.map(op), token);
      expect(res.status).toBe(413);
      expect(Array.isArray(res.body), res.text.slice(0, 300)).toBe(false);
      expectRefusedWhole(res, /limited to 5 operations/);
      await notStored(token, ...values);

      const five = await raw(t.gatewayUrl, Array.from({ length: 5 }, () => ({ query: "{ viewer { org } }" })), token);
      expect(Array.isArray(five.body), five.text.slice(0, 300)).toBe(true);
      expect(five.body).toHaveLength(5);
    });

    it("closes a graphql-ws socket that sends a message over the size limit", async () => {
      const { token } = await publisher("input-ws-size");
      const client = createClient({
        url: t.gatewayUrl.replace(/^http/, "ws"),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
        lazy: true,
      });
      try {
        const closed = await new Promise<{ code: number; data: unknown }>((resolve, reject) => {
          let data: unknown = null;
          const timer = setTimeout(() => reject(new Error("the socket stayed open for 10 s")), 10_000);
          client.on("closed", (event) => {
            clearTimeout(timer);
            resolve({ code: (event as { code: number }).code, data });
          });
          client.subscribe(
            { query: `mutation { publishIndicators(input: [{type: IPV4, value: "192.0.2.240", tlp: GREEN}]) { published } }\n#${"x".repeat(5 * 1024 * 1024)}\n` },
            { next: (v) => (data = v), error: () => undefined, complete: () => undefined },
          );
        });
        expect(closed.code).toBe(1009);
        expect(closed.data).toBeNull();
      } finally {
        await client.dispose();
      }
      await notStored(token, "192.0.2.240");
    });
  });

  describe("errors never carry internals", () => {
    it("masks a database failure and keeps SQL, stack and paths out of every response", async () => {
      const { token } = await publisher("input-leaks");
      // Postgres refuses a NUL in text: an unexpected failure deep in the SQL path.
      const owner = await raw(t.gatewayUrl, { query: OWNED, variables: { f: { owner: "a\u0000b" } } }, token);
      expect(owner.body.data ?? null).toBeNull();
      expect(owner.body.errors.length).toBeGreaterThan(0);
      const junk = await raw(t.gatewayUrl, undefined, token, { body: '{"query": "{ viewer { org } ' });
      expect(junk.status).toBeGreaterThanOrEqual(400);
      const syntax = await raw(t.gatewayUrl, { query: "mutation { publishIndicators(input: [{type: IPV4 " }, token);
      expect(syntax.body.errors.length).toBeGreaterThan(0);
      const cursor = await raw(t.gatewayUrl, { query: `{ indicators(after: "'; select 1; --") { totalCount } }` }, token);
      expect(cursor.body.errors[0].extensions.code).toBe("BAD_USER_INPUT");
      const direct = await raw(t.subgraphUrl("indicators"), { query: OWNED, variables: { f: { owner: "a\u0000b" } } }, token);
      expect(direct.body.errors.length).toBeGreaterThan(0);

      for (const text of seen) expectNoLeak(text);
    });
  });
});
