import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { MasterKeyRing, openText, SealBroken, sealText } from "../src/crypto/envelope.js";
import { KeyRing } from "../src/crypto/keyed-hash.js";
import { audit, verifyAuditChain } from "../subgraphs/verification/audit.trail.js";
import { RecordSealer } from "../subgraphs/verification/record.crypto.js";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";

const key = () => randomBytes(32);

describe("envelope encryption of personal values", () => {
  it("opens what it sealed only under the same key and the same binding", () => {
    const dataKey = key();
    const sealed = sealText(dataKey, "Ivan Petrov", "verification.customer_record.customer:r1");
    expect(sealed.includes(Buffer.from("Ivan Petrov"))).toBe(false);
    expect(openText(dataKey, sealed, "verification.customer_record.customer:r1")).toBe("Ivan Petrov");
    // Moved to another row, or another column, or opened under another key: refused, not misread.
    expect(() => openText(dataKey, sealed, "verification.customer_record.customer:r2")).toThrow(SealBroken);
    expect(() => openText(dataKey, sealed, "verification.customer_record.contacts:r1")).toThrow(SealBroken);
    expect(() => openText(key(), sealed, "verification.customer_record.customer:r1")).toThrow(SealBroken);
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1]! ^= 1;
    expect(() => openText(dataKey, flipped, "verification.customer_record.customer:r1")).toThrow(SealBroken);
  });

  it("rotates the master key by rewrapping data keys; the data stay as they were sealed", () => {
    const old = { id: "m1", key: key() };
    const ringBefore = new MasterKeyRing([old]);
    const keys = { master: ringBefore, index: new KeyRing([{ id: "i1", key: key() }]) };
    const sealer = RecordSealer.create(keys, "rec-1");
    const row = { id: "rec-1", master_key_id: sealer.keyId, data_key: sealer.wrapped };
    const value = sealer.seal("customer_record", "customer", "rec-1", { names: ["Ivan Petrov"] });

    const ringAfter = new MasterKeyRing([{ id: "m2", key: key() }, old]);
    const after = { master: ringAfter, index: keys.index };
    const rewrapped = RecordSealer.rewrap(after, row);
    expect(rewrapped.keyId).toBe("m2");
    const moved = { id: "rec-1", master_key_id: rewrapped.keyId, data_key: rewrapped.wrapped };
    expect(RecordSealer.of(after, moved).open("customer_record", "customer", "rec-1", value)).toEqual({ names: ["Ivan Petrov"] });
    // With the old key gone, the rewrapped record still opens.
    const onlyNew = { master: new MasterKeyRing([{ id: "m2", key: ringAfterKey(ringAfter) }]), index: keys.index };
    expect(RecordSealer.of(onlyNew, moved).open("customer_record", "customer", "rec-1", value)).toEqual({ names: ["Ivan Petrov"] });
    // A wrapped data key copied to another record does not open there.
    expect(() => RecordSealer.of(after, { ...moved, id: "rec-2" })).toThrow(SealBroken);
  });
});

/** The current master key's bytes, by sealing a probe with it: the ring does not hand out its keys. */
function ringAfterKey(ring: MasterKeyRing): Buffer {
  const { plain, keyId, wrapped } = ring.newDataKey("probe");
  expect(ring.unwrap(keyId, wrapped, "probe")).toEqual(plain);
  return (ring as unknown as { keys: Map<string, Buffer> }).keys.get(keyId)!;
}

describe("the verification audit trail", () => {
  let t: TestHub;
  let sql: pg.Client;
  const provider = orgId("audit-prov");
  const other = orgId("audit-other");
  const viewer = { org: provider, sub: "officer-1" };
  const em = () => t.hub.subgraphs.find((s) => s.name === "verification")!.orm.em.fork();

  beforeAll(async () => {
    t = await startTestHub();
    sql = new pg.Client({ connectionString: inject("databaseUrl") });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await t?.stop();
  });

  it("chains links per provider, refuses a link outside a transaction, and finds a link altered with raw SQL", async () => {
    await expect(audit(em(), viewer, { org: provider, action: "RECORD_READ" }, new Date())).rejects.toThrow(/transaction/);
    for (let i = 0; i < 5; i++) {
      await em().transactional((tx) => audit(tx, viewer, { org: provider, action: "RECORD_READ", recordId: randomUUID(), detail: { n: i, z: "a", a: true } }, new Date()));
    }
    await em().transactional((tx) => audit(tx, { org: other, sub: "x" }, { org: other, action: "RECORD_OPENED" }, new Date()));
    expect(await verifyAuditChain(em(), provider)).toEqual({ ok: true, checked: 5, firstBroken: null });

    // The hub's own role cannot change a link: the database refuses it.
    await expect(sql.query("update verification.audit_trail set action = 'RECORD_OPENED' where org = $1 and seq = 3", [provider])).rejects.toThrow(/append-only/);
    await expect(sql.query("delete from verification.audit_trail where org = $1 and seq = 5", [provider])).rejects.toThrow(/append-only/);

    // Someone with the power to lift the guard edits link 3: the walk stops there.
    await sql.query("begin");
    await sql.query("set local session_replication_role = replica");
    await sql.query(`update verification.audit_trail set detail = '{"n": 99, "z": "a", "a": true}' where org = $1 and seq = 3`, [provider]);
    await sql.query("commit");
    expect(await verifyAuditChain(em(), provider)).toEqual({ ok: false, checked: 2, firstBroken: "seq 3" });
    // The other provider's chain is its own and still holds.
    expect((await verifyAuditChain(em(), other)).ok).toBe(true);
  });

  it("finds the tail cut off", async () => {
    const org = orgId("audit-tail");
    for (let i = 0; i < 3; i++) await em().transactional((tx) => audit(tx, { org, sub: "s" }, { org, action: "RECORD_READ" }, new Date()));
    await sql.query("begin");
    await sql.query("set local session_replication_role = replica");
    await sql.query("delete from verification.audit_trail where org = $1 and seq = 3", [org]);
    await sql.query("commit");
    expect(await verifyAuditChain(em(), org)).toMatchObject({ ok: false, checked: 2, firstBroken: expect.stringMatching(/^seq 3/) });
  });
});
