import "reflect-metadata";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";
import { ok, registerAccounts } from "./support/resellers.js";
import { CUSTOMER_RECORD, openRecord, passCheck, setStatus } from "./support/verification.js";

/**
 * Master-key rotation as an operator does it: records sealed under key A; the hub restarted with
 * `RECORD_MASTER_KEYS=B,A`; `npm run rewrap-record-keys` (dist/app/rewrap-record-keys.js); the hub
 * restarted with B alone, and every record still reads. Only the wrapped data keys change: every
 * sealed column is byte for byte what it was. Each provider's chain records what was rewrapped.
 */

const root = join(import.meta.dirname, "..");
const tag = randomBytes(3).toString("hex");
const keyA = `rot-a-${tag}`;
const keyB = `rot-b-${tag}`;
const spec = (id: string) => `${id}:${randomBytes(32).toString("base64")}`;
const A = spec(keyA);
const B = spec(keyB);
/** The blind index's key stays: rotation of the master key leaves the index alone. */
const INDEX = spec(`rot-i-${tag}`);

describe("master-key rotation", () => {
  let t: TestHub | undefined;
  let db: pg.Client;
  const P = orgId("rot-provider");
  const scopes = ["accounts:read", "accounts:write", "verification:read", "verification:write"];
  let accounts: string[];
  const records: any[] = [];

  const uuid = (id: string) => id.split("--")[1]!;
  const start = async (keys: string) => {
    await t?.stop();
    t = await startTestHub({ RECORD_MASTER_KEYS: keys, RECORD_INDEX_KEYS: INDEX });
    return { t, token: await t.token(P, "PROVIDER", scopes) };
  };
  /** Every sealed value of these records (their own columns, their checks', their status changes'), as hex. */
  const sealed = async (ids: string[]) =>
    (
      await db.query(
        `select r.id, encode(r.customer, 'hex') || encode(r.beneficial_owners, 'hex') || encode(r.payments, 'hex') || encode(r.contacts, 'hex') as own,
                (select string_agg(encode(c.sealed, 'hex'), ',' order by c.id) from verification.verification_check c where c.record_id = r.id) as checks,
                (select string_agg(encode(s.reason, 'hex'), ',' order by s.seq) from verification.status_change s where s.record_id = r.id) as reasons
           from verification.customer_record r where r.id = any($1::uuid[]) order by r.id`,
        [ids],
      )
    ).rows;
  const wrapping = async (ids: string[]) =>
    (await db.query("select id, master_key_id, encode(data_key, 'hex') as data_key from verification.customer_record where id = any($1::uuid[]) order by id", [ids])).rows;
  const rewrap = (keys: string) =>
    spawnSync(process.execPath, [join(root, "dist/app/rewrap-record-keys.js")], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: inject("databaseUrl"), DATA_DIR: t!.dataDir, RECORD_MASTER_KEYS: keys, RECORD_INDEX_KEYS: INDEX, NODE_ENV: "test", LOG_LEVEL: "silent" },
      encoding: "utf8",
      timeout: 60_000,
    });

  beforeAll(async () => {
    db = new pg.Client({ connectionString: inject("databaseUrl") });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await t?.stop();
  });

  it("rewraps data keys to the new master key, leaves every sealed value as it was, and the records read with the old key gone", async () => {
    let { t: hub, token } = await start(A);
    accounts = await registerAccounts(hub, token, [{ jurisdiction: "FR" }, { jurisdiction: "DE" }, { jurisdiction: "BR" }, { jurisdiction: "JP" }]);
    for (const a of accounts.slice(0, 3)) records.push(await openRecord(hub, token, a));
    await passCheck(hub, token, records[0]);
    await setStatus(hub, token, records[0], "VERIFIED", "passport checked in person");
    await setStatus(hub, token, records[1], "UNVERIFIED", "documents requested");
    const ids = records.map((r) => uuid(r.id));
    const before = await sealed(ids);
    expect((await wrapping(ids)).map((r) => r.master_key_id)).toEqual([keyA, keyA, keyA]);

    // B first, A kept: old records still read; a new one is wrapped by B.
    ({ t: hub, token } = await start(`${B},${A}`));
    expect((await ok(hub, token, CUSTOMER_RECORD, { a: accounts[0] })).customerRecord.customer.names).toEqual(records[0].customer.names);
    records.push(await openRecord(hub, token, accounts[3]!));
    const all = records.map((r) => uuid(r.id));
    const wrappedBefore = await wrapping(all);
    expect(wrappedBefore.find((r) => r.id === uuid(records[3].id))!.master_key_id).toBe(keyB);

    const run = rewrap(`${B},${A}`);
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain(`data keys rewrapped to master key ${keyB}`);
    expect(run.stdout).toContain(`  ${P}: 3\n`);
    // Records of other hubs sharing this database (other keys) are reported as not rewrapped, never changed; none of these.
    for (const id of all) expect(run.stdout).not.toContain(id);

    const wrappedAfter = await wrapping(all);
    expect(wrappedAfter.map((r) => r.master_key_id)).toEqual(all.map(() => keyB));
    for (const r of wrappedAfter) {
      const old = wrappedBefore.find((b) => b.id === r.id)!;
      // The data key is wrapped anew (a fresh IV) unless it already was under B.
      if (old.master_key_id === keyA) expect(r.data_key).not.toBe(old.data_key);
      else expect(r.data_key).toBe(old.data_key);
    }
    expect(await sealed(ids)).toEqual(before);

    // Audited in the provider's chain, as the operator's command: what, how many, from which key.
    const links = (await db.query("select actor_org, actor_subject, detail from verification.audit_trail where org = $1 and action = 'KEYS_REWRAPPED'", [P])).rows;
    expect(links).toEqual([{ actor_org: "hub", actor_subject: "rewrap-record-keys", detail: { records: 3, toKey: keyB, fromKeys: keyA } }]);
    // A second run finds nothing of this provider's to do.
    expect(rewrap(`${B},${A}`).stdout).not.toContain(`  ${P}:`);

    // B alone: everything reads, checks and all.
    ({ t: hub, token } = await start(B));
    for (const [i, a] of accounts.entries()) {
      const read = (await ok(hub, token, CUSTOMER_RECORD, { a })).customerRecord;
      expect(read.customer).toEqual(records[i].customer);
      expect(read.emails).toEqual(records[i].emails);
    }
    const verified = (await ok(hub, token, CUSTOMER_RECORD, { a: accounts[0] })).customerRecord;
    expect(verified.status).toBe("VERIFIED");
    expect(verified.checks).toHaveLength(1);
    expect((await ok(hub, token, `query { verifyAuditChain { ok firstBroken } }`)).verifyAuditChain).toEqual({ ok: true, firstBroken: null });
  });
});
