import "reflect-metadata";
import { randomUUID } from "node:crypto";
import type { Client } from "graphql-ws";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { encodeCursor } from "../src/events/cursor.js";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";
import { sleep, until } from "./support/wait.js";

/**
 * Flags and the account they expose, on every path an attacker would take (by id, lists and counts,
 * `_entities` straight at the subgraph, the feed through the gateway, live and replayed): each negative
 * with its positive twin. Then the rules of flagging another provider's account (evidence it may see),
 * clearing and disputing, and at the end a raw SQL scan for the identifiers planted on the way.
 */

const REGISTER = `mutation($in: [AccountInput!]!) { registerAccounts(input: $in) { failed results { error { field message } account { id } } } }`;
const FLAG = `mutation($in: FlagInput!) { flagAccount(input: $in) { error { field message code } flag { id status tlp sharedWith inForce indicatorIds account { id } } } }`;
const CLEAR = `mutation($id: ID!, $r: String!) { clearFlag(id: $id, reason: $r) { error { field message code } flag { id status inForce clearedReason } } }`;
const DISPUTE = `mutation($id: ID!, $r: String!) { disputeFlag(id: $id, reason: $r) { error { field message code } flag { id status disputedReason } } }`;
const PUBLISH = `mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { failed results { indicator { id } } } }`;
const GET_FLAG = `query($id: ID!) { flag(id: $id) { id owner tlp account { id kind } } }`;
const GET_ACCOUNT = `query($id: ID!) { account(id: $id) { id kind holderJurisdiction externalRef flags { id } identifiers { type hash } } }`;
const FLAGS = `query($f: FlagFilter) { flaggedAccounts(filter: $f, first: 500) { totalCount edges { node { id category account { id } } } } }`;
const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Account { id kind flags { id } } } }`;
const FEED = `subscription($after: String) { accountFlagged(after: $after) { cursor kind flag { id status tlp account { id } } } }`;

interface FeedEvent {
  cursor: string;
  kind: string;
  flag: { id: string; status: string; tlp: string; account: { id: string } | null };
}

/** Identifiers planted on the way; none may be stored anywhere, in any form of its writing. */
const run = randomUUID().slice(0, 8);
const RAW = {
  email: `Mallory.${run}@Example.COM`,
  card: "4111 1111 1111 1111",
  phone: "+1 202 555 0143",
  wallet: `0x${run}${"ab".repeat(16)}`,
};

describe("flags on every path", () => {
  let t: TestHub;
  let db: pg.Client;
  const A = orgId("acf-provider"); // holds the account
  const B = orgId("acf-outsider"); // sees nothing it is not given
  const C = orgId("acf-partner"); // A shares its AMBER flag with C
  const tokens: Record<string, string> = {};
  const clients: Client[] = [];
  let startCursor: string;
  let account: string;
  let plain: string; // an account of A nobody flags
  let amber: string; // A's AMBER flag on `account`, shared with C

  const ok = async (org: string, query: string, variables: Record<string, unknown> = {}, url?: string) => {
    const res = await t.gql(query, variables, tokens[org], url);
    expect(res.errors, `${org}: ${JSON.stringify(res.errors)}`).toBeUndefined();
    return res.data;
  };
  const raw = async (org: string, r: unknown[]) => {
    const res = await fetch(t.subgraphUrl("accounts"), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${tokens[org]}` },
      body: JSON.stringify({ query: ENTITIES, variables: { r } }),
    });
    return { status: res.status, body: await res.json() };
  };
  const flagEvents = async () => Number((await db.query(`select count(*)::int as n from hub.event where topic like 'account.flag%' and payload->>'account_id' = $1`, [account.slice(9)])).rows[0].n);

  function feed(org: string, after: string | null) {
    const client = t.ws(tokens[org]!);
    clients.push(client);
    const state = { events: [] as FeedEvent[], errors: [] as any[], ended: false };
    client.subscribe<{ accountFlagged: FeedEvent }>(
      { query: FEED, variables: { after } },
      {
        next: (v) => {
          if (v.errors) state.errors.push(...v.errors);
          if (v.data) state.events.push(v.data.accountFlagged);
        },
        error: (err) => {
          state.errors.push(err);
          state.ended = true;
        },
        complete: () => {
          state.ended = true;
        },
      },
    );
    const has = (id: string, kind = "FLAGGED") => state.events.some((e) => e.flag.id === id && e.kind === kind);
    return { state, has, waitFor: (id: string, kind = "FLAGGED") => until(`${kind} of ${id} for ${org}`, () => has(id, kind) || state.ended) };
  }

  beforeAll(async () => {
    t = await startTestHub();
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
    const scopes = ["accounts:read", "accounts:write", "indicators:read", "indicators:write"];
    for (const org of [A, B, C]) {
      tokens[org] = await t.token(org, "PROVIDER", scopes);
      await ok(org, `{ viewer { org } }`);
    }
    startCursor = encodeCursor(Number((await db.query("select coalesce(max(seq), 0) as seq from hub.event")).rows[0].seq));
    const made = await ok(A, REGISTER, {
      in: [
        {
          externalRef: `acct-${run}`,
          kind: "STANDARD",
          holderType: "INDIVIDUAL",
          holderJurisdiction: "KP",
          usPerson: false,
          identifiers: [
            { type: "EMAIL", value: RAW.email },
            { type: "PAYMENT_CARD", value: RAW.card },
            { type: "PHONE", value: RAW.phone },
            { type: "CRYPTO_WALLET", value: RAW.wallet },
          ],
        },
        { externalRef: `plain-${run}`, kind: "TRIAL", holderType: "ENTITY", holderJurisdiction: "IR", usPerson: false },
      ],
    });
    expect(made.registerAccounts.failed).toBe(0);
    [account, plain] = made.registerAccounts.results.map((r: any) => r.account.id);
    const flagged = await ok(A, FLAG, { in: { accountId: account, category: "COMMAND_AND_CONTROL", confidence: 90, tlp: "AMBER", sharedWith: [C] } });
    expect(flagged.flagAccount.error).toBeNull();
    amber = flagged.flagAccount.flag.id;
    expect(flagged.flagAccount.flag).toMatchObject({ status: "ACTIVE", tlp: "AMBER", sharedWith: [C], inForce: true, account: { id: account } });
  });
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await db?.end();
    await t?.stop();
  });

  it("by id: the flag and its account for the owner and the org it is shared with; null for anyone else", async () => {
    expect((await ok(B, GET_FLAG, { id: amber })).flag).toBeNull();
    expect((await ok(B, GET_ACCOUNT, { id: account })).account).toBeNull();
    expect((await ok(C, GET_FLAG, { id: amber })).flag).toMatchObject({ id: amber, owner: A, tlp: "AMBER", account: { id: account, kind: "STANDARD" } });
    const seen = (await ok(C, GET_ACCOUNT, { id: account })).account;
    expect(seen).toMatchObject({ id: account, kind: "STANDARD", holderJurisdiction: "KP", externalRef: `acct-${run}`, flags: [{ id: amber }] });
    expect(seen.identifiers).toHaveLength(4);
    expect((await ok(C, GET_ACCOUNT, { id: plain })).account).toBeNull();
    expect((await ok(A, GET_ACCOUNT, { id: plain })).account).toMatchObject({ id: plain });
  });

  it("lists and counts leave it out for anyone it is not shared with", async () => {
    const ids = (d: any) => d.flaggedAccounts.edges.map((e: any) => e.node.id);
    for (const f of [{}, { owner: A }, { accountId: account }, { categories: ["COMMAND_AND_CONTROL"] }]) {
      const theirs = await ok(B, FLAGS, { f });
      expect(ids(theirs), JSON.stringify(f)).not.toContain(amber);
      expect(theirs.flaggedAccounts.totalCount).toBe(theirs.flaggedAccounts.edges.length);
      const partner = await ok(C, FLAGS, { f });
      expect(ids(partner), JSON.stringify(f)).toContain(amber);
      expect(partner.flaggedAccounts.totalCount).toBe(partner.flaggedAccounts.edges.length);
    }
    const accounts = async (org: string) => (await ok(org, `{ accounts(first: 500) { totalCount edges { node { id } } } }`)).accounts;
    expect((await accounts(B)).edges.map((e: any) => e.node.id)).not.toContain(account);
    expect((await accounts(C)).edges.map((e: any) => e.node.id)).toContain(account);
    expect((await accounts(C)).edges.map((e: any) => e.node.id)).not.toContain(plain);
  });

  it("_entities straight at the subgraph answers a hidden account exactly as one that does not exist", async () => {
    const nowhere = `account--${randomUUID()}`;
    const hidden = await raw(B, [{ __typename: "Account", id: account }]);
    const absent = await raw(B, [{ __typename: "Account", id: nowhere }]);
    expect(hidden).toEqual(absent);
    expect(absent).toEqual({ status: 200, body: { data: { _entities: [null] } } });
    expect((await raw(C, [{ __typename: "Account", id: account }])).body).toEqual({ data: { _entities: [{ id: account, kind: "STANDARD", flags: [{ id: amber }] }] } });
    // A malformed representation is refused at its own index; the others resolve.
    const mixed = await raw(A, [{ __typename: "Account", id: plain }, { __typename: "Account", id: 5 }, { __typename: "Account" }]);
    expect(mixed.body.data._entities).toEqual([{ id: plain, kind: "TRIAL", flags: [] }, null, null]);
    expect(mixed.body.errors.map((e: any) => e.extensions.field).sort()).toEqual(["representations[1]", "representations[2]"]);
  });

  it("the feed, live and replayed, reaches the owner and the org it is shared with, never another", async () => {
    const outsider = feed(B, startCursor);
    const partner = feed(C, startCursor);
    const owner = feed(A, startCursor);
    await partner.waitFor(amber);
    await owner.waitFor(amber);
    expect(partner.state.events.find((e) => e.flag.id === amber)).toMatchObject({ kind: "FLAGGED", flag: { status: "ACTIVE", tlp: "AMBER", account: { id: account } } });

    // Live: a GREEN flag reaches everyone, B included; the AMBER one never reached B.
    const green = (await ok(C, FLAG, { in: { accountId: account, category: "PHISHING", confidence: 40, tlp: "GREEN", indicatorIds: [await greenIndicator()] } })).flagAccount;
    expect(green.error).toBeNull();
    await outsider.waitFor(green.flag.id);
    await partner.waitFor(green.flag.id);
    expect(outsider.has(amber)).toBe(false);
    expect(outsider.state.errors).toEqual([]);

    // Re-marked RED and unshared from C: the old event is no longer replayed to C, whatever the cursor.
    const secret = (await ok(A, FLAG, { in: { accountId: plain, category: "SPAM", confidence: 10, tlp: "AMBER", sharedWith: [C] } })).flagAccount;
    await partner.waitFor(secret.flag.id);
    const remarked = (await ok(A, FLAG, { in: { accountId: plain, category: "SPAM", confidence: 10, tlp: "RED" } })).flagAccount;
    expect(remarked.flag.id).toBe(secret.flag.id);
    await owner.waitFor(secret.flag.id);
    const replay = feed(C, startCursor);
    await replay.waitFor(green.flag.id);
    await sleep(300);
    expect(replay.has(secret.flag.id)).toBe(false);
    expect(replay.has(amber)).toBe(true);
    // And it is gone from C's lists too.
    expect((await ok(C, GET_FLAG, { id: secret.flag.id })).flag).toBeNull();
  });

  it("the feed refuses a cursor it did not issue and a viewer without accounts:read", async () => {
    const bad = feed(B, "not-a-cursor");
    await until("the bad cursor's refusal", () => bad.state.ended);
    expect(bad.state.errors[0]?.[0] ?? bad.state.errors[0]).toMatchObject({ message: "after: not a cursor this hub issued", extensions: { code: "BAD_USER_INPUT" } });
    tokens.noscope = await t.token(orgId("acf-noscope"), "PROVIDER", ["indicators:read"]);
    const none = feed("noscope", null);
    await until("the scope refusal", () => none.state.ended);
    expect(none.state.errors[0]?.[0] ?? none.state.errors[0]).toMatchObject({ message: "this operation needs the scope 'accounts:read'", extensions: { code: "FORBIDDEN" } });
  });

  let indicator: string | undefined;
  async function greenIndicator(): Promise<string> {
    if (!indicator) {
      const published = await ok(C, PUBLISH, { input: [{ type: "IPV4", value: "198.51.100.77", tlp: "GREEN" }] });
      indicator = published.publishIndicators.results[0].indicator.id as string;
    }
    return indicator;
  }

  it("refuses a flag on another provider's account without evidence that provider may see, storing nothing", async () => {
    const before = await flagEvents();
    const none = (await ok(C, FLAG, { in: { accountId: account, category: "FRAUD", confidence: 50, tlp: "AMBER" } })).flagAccount;
    expect(none).toEqual({ flag: null, error: { field: "indicatorIds", message: expect.stringMatching(/^indicatorIds: a flag on another provider's account needs evidence/), code: "BAD_USER_INPUT" } });
    // Evidence only C may see (RED) is no evidence for A.
    const red = await ok(C, PUBLISH, { input: [{ type: "IPV4", value: "198.51.100.78", tlp: "RED" }] });
    const hidden = (await ok(C, FLAG, { in: { accountId: account, category: "FRAUD", confidence: 50, tlp: "AMBER", indicatorIds: [red.publishIndicators.results[0].indicator.id] } })).flagAccount;
    expect(hidden.error).toMatchObject({ field: "indicatorIds", code: "BAD_USER_INPUT" });
    // Evidence C may not see itself, or that does not exist, is not found.
    const nowhere = (await ok(C, FLAG, { in: { accountId: account, category: "FRAUD", confidence: 50, tlp: "AMBER", indicatorIds: [`indicator--${randomUUID()}`] } })).flagAccount;
    expect(nowhere.error).toMatchObject({ field: "indicatorIds[0]", code: "NOT_FOUND" });
    // An account C may not see is not found, the same as one that does not exist.
    const unseen = (await ok(C, FLAG, { in: { accountId: plain, category: "FRAUD", confidence: 50, tlp: "GREEN", indicatorIds: [await greenIndicator()] } })).flagAccount;
    const absent = (await ok(C, FLAG, { in: { accountId: `account--${randomUUID()}`, category: "FRAUD", confidence: 50, tlp: "GREEN", indicatorIds: [await greenIndicator()] } })).flagAccount;
    expect(unseen).toEqual(absent);
    expect(absent.error).toEqual({ field: "accountId", message: "accountId: no account with this id", code: "NOT_FOUND" });
    const badConfidence = (await ok(A, FLAG, { in: { accountId: account, category: "FRAUD", confidence: 101, tlp: "GREEN" } })).flagAccount;
    expect(badConfidence.error).toMatchObject({ field: "confidence", code: "BAD_USER_INPUT" });
    expect(await flagEvents()).toBe(before);
    expect(Number((await db.query(`select count(*)::int as n from accounts.flag where account_id = $1 and category = 'FRAUD'`, [account.slice(9)])).rows[0].n)).toBe(0);
  });

  it("flagging again identically changes nothing; clear by its owner only, dispute by the provider only", async () => {
    const input = { accountId: account, category: "COMMAND_AND_CONTROL", confidence: 90, tlp: "AMBER", sharedWith: [C] };
    const before = await flagEvents();
    expect((await ok(A, FLAG, { in: input })).flagAccount.flag.id).toBe(amber);
    expect(await flagEvents()).toBe(before);

    // C's GREEN flag on A's account (from the feed test): A disputes it, C clears it.
    const cFlag = (await ok(C, FLAGS, { f: { owner: C, accountId: account } })).flaggedAccounts.edges[0].node.id;
    expect((await ok(B, DISPUTE, { id: cFlag, r: "not ours to judge" })).disputeFlag.error).toMatchObject({ field: "id", code: "FORBIDDEN" });
    expect((await ok(B, CLEAR, { id: amber, r: "x" })).clearFlag.error).toEqual({ field: "id", message: "id: no flag with this id", code: "NOT_FOUND" });
    expect((await ok(C, CLEAR, { id: amber, r: "x" })).clearFlag.error).toMatchObject({ field: "id", code: "FORBIDDEN" });
    expect((await ok(A, DISPUTE, { id: amber, r: "mine" })).disputeFlag.error).toMatchObject({ field: "id", code: "FORBIDDEN" });
    expect((await ok(A, DISPUTE, { id: cFlag, r: "  " })).disputeFlag.error).toMatchObject({ field: "reason", code: "BAD_USER_INPUT" });

    const owner = feed(A, startCursor);
    const disputed = (await ok(A, DISPUTE, { id: cFlag, r: "The customer is a university lab" })).disputeFlag;
    expect(disputed).toEqual({ error: null, flag: { id: cFlag, status: "DISPUTED", disputedReason: "The customer is a university lab" } });
    const again = await flagEvents();
    expect((await ok(A, DISPUTE, { id: cFlag, r: "The customer is a university lab" })).disputeFlag.flag.status).toBe("DISPUTED");
    expect(await flagEvents()).toBe(again);
    const cleared = (await ok(C, CLEAR, { id: cFlag, r: "Confirmed benign" })).clearFlag;
    expect(cleared).toEqual({ error: null, flag: { id: cFlag, status: "CLEARED", inForce: false, clearedReason: "Confirmed benign" } });
    await owner.waitFor(cFlag, "DISPUTED");
    await owner.waitFor(cFlag, "CLEARED");
    // A cleared flag no longer counts: it is out of the default list and the account's flags.
    expect((await ok(C, GET_ACCOUNT, { id: account })).account.flags.map((f: any) => f.id)).toEqual([amber]);
    expect((await ok(C, FLAGS, { f: { statuses: ["CLEARED"], owner: C } })).flaggedAccounts.edges.map((e: any) => e.node.id)).toContain(cFlag);
    // Once A clears its own flag too, C no longer sees the account.
    expect((await ok(A, CLEAR, { id: amber, r: "Closed and handed over" })).clearFlag.error).toBeNull();
    expect((await ok(C, GET_ACCOUNT, { id: account })).account).toBeNull();
  });

  it("no raw identifier anywhere: every table of the accounts schema and the event log", async () => {
    const tables = (await db.query(`select table_schema, table_name from information_schema.tables where table_schema in ('accounts', 'hub') and table_type = 'BASE TABLE'`)).rows;
    expect(tables.map((r) => r.table_name)).toEqual(expect.arrayContaining(["account", "account_identifier", "flag", "event"]));
    const forms = [RAW.email, RAW.email.toLowerCase(), RAW.card, RAW.card.replace(/ /g, ""), RAW.phone, RAW.phone.replace(/ /g, ""), RAW.wallet, RAW.wallet.toLowerCase()];
    for (const { table_schema, table_name } of tables) {
      const rows = (await db.query(`select t::text as row from "${table_schema}"."${table_name}" t`)).rows;
      for (const { row } of rows) {
        for (const form of forms) expect(row.toLowerCase().includes(form.toLowerCase()), `${table_schema}.${table_name} holds ${form}`).toBe(false);
      }
    }
    // The hashes are there: four identifiers of the account.
    expect(Number((await db.query(`select count(*)::int as n from accounts.account_identifier where account_id = $1`, [account.slice(9)])).rows[0].n)).toBe(4);
  });
});
