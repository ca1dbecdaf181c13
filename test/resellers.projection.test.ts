import "reflect-metadata";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createOrm } from "../src/db/orm.js";
import { appendEvents } from "../src/events/outbox.js";
import { Topics, type FlagPayload } from "../src/events/topics.js";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";
import { exposureOf, link, ok, registerAccounts, resellersProjected } from "./support/resellers.js";

/**
 * The resellers subgraph's projection of accounts and flags catches up after the subgraph was down:
 * flags raised and cleared while no hub runs are in its answers as soon as it is back, and its cursor
 * has moved over them, in the same transaction as the rows.
 */
describe("the resellers projection across a restart", () => {
  let t: TestHub | undefined;
  let db: pg.Client | undefined;
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  it("applies the account events written while it was down", async () => {
    const P = orgId("rsp-provider");
    t = await startTestHub();
    const token = await t.token(P, "PROVIDER", ["accounts:read", "accounts:write", "resellers:read", "resellers:write"]);
    await ok(t, token, `{ viewer { org } }`);
    const [top, a, b] = await registerAccounts(t, token, [{ kind: "RESELLER" }, { jurisdiction: "IR" }, { jurisdiction: "IR" }]);
    await link(t, token, [[top!, a!], [top!, b!]]);
    expect(await exposureOf(t, token, top!)).toMatchObject({ total: 2, flagged: 0 });
    await t.stop();
    t = undefined;

    // While no hub runs: a flag raised on a, and one raised then cleared on b, as the accounts subgraph writes them.
    const orm = await createOrm(inject("databaseUrl"), [], 1);
    const flag = (account: string, id: string, status: FlagPayload["status"]) => {
      const now = new Date().toISOString();
      const payload: FlagPayload = {
        id,
        account_id: account.slice("account--".length),
        provider: P,
        owner: P,
        category: "SANCTIONS_EVASION",
        confidence: 90,
        tlp: "RED",
        shared_with: [],
        status,
        expires_at: null,
        created_at: now,
        modified_at: now,
      };
      return { topic: status === "ACTIVE" ? Topics.ACCOUNT_FLAGGED : Topics.FLAG_CLEARED, owner: P, tlp: "RED" as const, sharedWith: [P], payload: { ...payload } };
    };
    const onB = randomUUID();
    try {
      await orm.em.fork().transactional((em) => appendEvents(em, [flag(a!, randomUUID(), "ACTIVE"), flag(b!, onB, "ACTIVE"), flag(b!, onB, "CLEARED")]));
    } finally {
      await orm.close(true);
    }

    t = await startTestHub();
    const again = await t.token(P, "PROVIDER", ["resellers:read"]);
    // Caught up before the subgraph serves: no waiting.
    expect(await exposureOf(t, again, top!)).toMatchObject({ total: 2, flagged: 1, byCategory: [{ key: "SANCTIONS_EVASION", count: 1 }] });
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
    await resellersProjected(db);
    const { rows } = await db.query("select status from resellers.flag where id = $1", [onB]);
    expect(rows).toEqual([{ status: "CLEARED" }]);
  });
});
