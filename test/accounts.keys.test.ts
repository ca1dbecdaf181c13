import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";

/**
 * Rotating the identifier hash key loses no match: hashes stored under the old key are still found
 * while the old key stays in the ring behind the new one, new hashes are made with the new key, and a
 * ring without the old key no longer finds what only it hashed (the ring is what matching relies on).
 */

const REGISTER = `mutation($in: [AccountInput!]!) { registerAccounts(input: $in) { results { account { id } error { field message } } } }`;
const FLAG = `mutation($in: FlagInput!) { flagAccount(input: $in) { error { field message } } }`;
const MATCH = `query($ids: [IdentifierInput!]!) { matchIdentifiers(identifiers: $ids) { index flaggedAccounts error { message } } }`;

const key = () => randomBytes(32).toString("base64");

describe("identifier hash keys", () => {
  let t: TestHub | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  const provider = orgId("keys-provider");
  const asker = orgId("keys-asker");
  const [oldKey, newKey] = [key(), key()];
  const [before, after] = [`before-${randomBytes(3).toString("hex")}@rotation.example`, `after-${randomBytes(3).toString("hex")}@rotation.example`];

  /** A hub on this ring; the provider registers and flags an account holding `email` when given. */
  async function hubWith(ring: string, email?: string) {
    t = await startTestHub({ IDENTIFIER_HASH_KEYS: ring });
    const providerToken = await t.token(provider, "PROVIDER", ["accounts:read", "accounts:write"]);
    const askerToken = await t.token(asker, "PROVIDER", ["accounts:read"]);
    if (email) {
      const registered = await t.gql(
        REGISTER,
        { in: [{ externalRef: email, kind: "STANDARD", holderType: "INDIVIDUAL", holderJurisdiction: "FR", usPerson: false, identifiers: [{ type: "EMAIL", value: email }] }] },
        providerToken,
      );
      const id = registered.data.registerAccounts.results[0].account.id;
      const flagged = await t.gql(FLAG, { in: { accountId: id, category: "PHISHING", confidence: 70, tlp: "GREEN" } }, providerToken);
      expect(flagged.data.flagAccount.error).toBeNull();
    }
    const matches = async (emails: string[]) => {
      const res = await t!.gql(MATCH, { ids: emails.map((value) => ({ type: "EMAIL", value })) }, askerToken);
      expect(res.errors).toBeUndefined();
      return res.data.matchIdentifiers.map((m: { flaggedAccounts: number }) => m.flaggedAccounts);
    };
    return { matches };
  }

  it("finds hashes of the old key after a rotation, hashes new values with the new key, and needs the old key for the old hashes", async () => {
    const first = await hubWith(`old:${oldKey}`, before);
    expect(await first.matches([before])).toEqual([1]);
    await t!.stop();

    // Rotation: the new key first (it hashes what is stored from now on), the old one kept behind it.
    const rotated = await hubWith(`new:${newKey},old:${oldKey}`, after);
    expect(await rotated.matches([before, after])).toEqual([1, 1]);
    await t!.stop();

    // Once everything was hashed again the old key may go; until then it is what finds the old hashes.
    const withoutOld = await hubWith(`new:${newKey}`);
    expect(await withoutOld.matches([before, after])).toEqual([0, 1]);
  });
});
