import "reflect-metadata";
import { randomBytes } from "node:crypto";
import type { Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { orgId, startTestHub, type TestHub } from "./support/hub.js";

/**
 * Identical concurrent requests may share one upstream execution (the gateway's in-flight
 * deduplication of subgraph calls, keyed on the forwarded headers). Two orgs sending the very same
 * query at the same moment must still each get their own answer: A's AMBER indicators in every answer
 * A gets and never in B's, and the other way round.
 */

const QUERY = `{ indicators(first: 50) { edges { node { id owner } } } }`;
const PER_ORG = 50;
const OWN = 4;

type Answer = { data?: { indicators: { edges: { node: { id: string; owner: string } }[] } }; errors?: unknown[] };

describe("in-flight request deduplication keeps orgs apart", () => {
  let t: TestHub;
  const A = orgId("dedup-a");
  const B = orgId("dedup-b");
  const tokens: Record<string, string> = {};
  const own: Record<string, string[]> = {};
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await startTestHub();
    for (const org of [A, B]) {
      tokens[org] = await t.token(org, "PROVIDER", ["indicators:read", "indicators:write"]);
      const input = Array.from({ length: OWN }, (_, i) => ({
        type: "DOMAIN",
        value: `${org}-${i}-${randomBytes(4).toString("hex")}.dedup-test.example`,
        tlp: "AMBER",
      }));
      const res = await t.gql(
        `mutation($input: [IndicatorInput!]!) { publishIndicators(input: $input) { failed results { indicator { id } } } }`,
        { input },
        tokens[org],
      );
      expect(res.errors).toBeUndefined();
      expect(res.data.publishIndicators.failed).toBe(0);
      own[org] = res.data.publishIndicators.results.map((r: any) => r.indicator.id);
    }
  });
  afterAll(async () => {
    for (const c of clients) await c.dispose();
    await t?.stop();
  });

  /** Every answer `org` got holds all of its own AMBER indicators and nothing of the other org's. */
  function check(org: string, other: string, answers: Answer[]) {
    expect(answers).toHaveLength(PER_ORG);
    for (const answer of answers) {
      expect(answer.errors).toBeUndefined();
      const nodes = answer.data!.indicators.edges.map((e) => e.node);
      const ids = nodes.map((n) => n.id);
      expect(ids).toEqual(expect.arrayContaining(own[org]!));
      for (const id of own[other]!) expect(ids).not.toContain(id);
      expect(nodes.filter((n) => n.owner === other)).toEqual([]);
    }
  }

  it("over HTTP: identical concurrent queries from two orgs each get their own answer", async () => {
    // Byte-identical bodies, interleaved A, B, A, B, ... and all in flight together.
    const body = JSON.stringify({ query: QUERY });
    const send = async (org: string): Promise<Answer> => {
      const res = await fetch(t.gatewayUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${tokens[org]}` },
        body,
      });
      expect(res.status).toBe(200);
      return (await res.json()) as Answer;
    };
    for (let round = 0; round < 3; round++) {
      const requests: Promise<Answer>[] = [];
      for (let i = 0; i < PER_ORG; i++) requests.push(send(A), send(B));
      const answers = await Promise.all(requests);
      check(A, B, answers.filter((_, i) => i % 2 === 0));
      check(B, A, answers.filter((_, i) => i % 2 === 1));
    }
  });

  it("over graphql-ws: identical concurrent queries from two orgs each get their own answer", async () => {
    const query = (client: Client) =>
      new Promise<Answer>((resolve, reject) => {
        let result: Answer | undefined;
        client.subscribe<Answer["data"]>({ query: QUERY }, {
          next: (value) => {
            result = value as Answer;
          },
          error: reject,
          complete: () => resolve(result!),
        });
      });
    const a = t.ws(tokens[A]!);
    const b = t.ws(tokens[B]!);
    clients.push(a, b);
    const requests: Promise<Answer>[] = [];
    for (let i = 0; i < PER_ORG; i++) requests.push(query(a), query(b));
    const answers = await Promise.all(requests);
    check(A, B, answers.filter((_, i) => i % 2 === 0));
    check(B, A, answers.filter((_, i) => i % 2 === 1));
  });
});
