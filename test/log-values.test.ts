import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturedLog, orgId, startTestHub, type TestHub } from "./support/hub.js";

/**
 * Personal values sent to the hub (an identifier in a registration, a refused variable) reach no log
 * line, even at the most talkative level, where the gateway's own library logs its requests.
 */
describe("log lines at debug level", () => {
  let t: TestHub;
  const { log: captured, lines } = capturedLog();

  beforeAll(async () => {
    t = await startTestHub({ LOG_LEVEL: "trace" }, { log: captured });
  });
  afterAll(() => t?.stop());

  it("hold no variable value of a request, accepted or refused", async () => {
    const provider = orgId("logv");
    const token = await t.token(provider, "PROVIDER", ["accounts:read", "accounts:write"]);
    const planted = "planted.person.7731@example.org";
    const ok = await t.gql(
      `mutation($in: [AccountInput!]!) { registerAccounts(input: $in) { results { index error { field } } } }`,
      { in: [{ externalRef: "logv-1", kind: "STANDARD", holderType: "INDIVIDUAL", holderJurisdiction: "RU", usPerson: false, identifiers: [{ type: "EMAIL", value: planted }] }] },
      token,
    );
    expect(ok.errors).toBeUndefined();
    const refused = await t.gql(
      `mutation($in: [AccountInput!]!) { registerAccounts(input: $in) { results { index } } }`,
      { in: [{ externalRef: "logv-2", kind: "NOPE-Ivan-Sidorov-4471", holderType: "INDIVIDUAL", holderJurisdiction: "RU", usPerson: false }] },
      token,
    );
    expect(refused.errors?.[0]?.message).toMatch(/got an invalid value at "in\[0\]\.kind"/);
    expect(JSON.stringify(refused.errors)).not.toContain("Ivan-Sidorov");
    await new Promise((r) => setTimeout(r, 200));
    const log = lines.join("");
    expect(log.length).toBeGreaterThan(0);
    expect(log).not.toContain("planted.person.7731");
    expect(log).not.toContain("Ivan-Sidorov");
  });
});
