import { randomUUID } from "node:crypto";
import type pg from "pg";
import { appendEvents } from "../../src/events/outbox.js";
import { Topics, type AccountRegisteredPayload, type FlagPayload } from "../../src/events/topics.js";
import type { Tlp } from "../../src/auth/tlp.js";
import type { TestHub } from "./hub.js";
import { sleep } from "./wait.js";

/**
 * Account events appended to the hub's log as the accounts subgraph writes them (the event contract of
 * src/events/topics.ts), in a transaction of their own: what other subgraphs' projections read.
 */
async function append(t: TestHub, events: Parameters<typeof appendEvents>[1]): Promise<void> {
  await t.hub.subgraphs[0]!.orm.em.fork().transactional((em) => appendEvents(em, events));
}

/** `account.registered` for a new account of `provider`; its id. */
export async function registerAccountByEvent(t: TestHub, provider: string): Promise<string> {
  const payload: AccountRegisteredPayload = { id: randomUUID(), provider, kind: "STANDARD", holder_jurisdiction: "US", status: "ACTIVE" };
  await append(t, [{ topic: Topics.ACCOUNT_REGISTERED, owner: provider, tlp: "RED", sharedWith: [], payload: { ...payload } }]);
  return `account--${payload.id}`;
}

export interface FlagSpec {
  id?: string;
  account: string;
  provider: string;
  owner: string;
  tlp: Tlp;
  sharedWith?: string[];
  status?: FlagPayload["status"];
  expiresAt?: Date | null;
}

/** A flag event (raised, cleared or disputed, by `status`) on an account; the flag's id. */
export async function flagByEvent(t: TestHub, spec: FlagSpec): Promise<string> {
  const id = spec.id ?? `flag--${randomUUID()}`;
  const now = new Date().toISOString();
  const payload: FlagPayload = {
    id: id.slice("flag--".length),
    account_id: spec.account.slice("account--".length),
    provider: spec.provider,
    owner: spec.owner,
    category: "FRAUD",
    confidence: 80,
    tlp: spec.tlp,
    shared_with: spec.sharedWith ?? [],
    status: spec.status ?? "ACTIVE",
    expires_at: spec.expiresAt?.toISOString() ?? null,
    created_at: now,
    modified_at: now,
  };
  const topic = { ACTIVE: Topics.ACCOUNT_FLAGGED, CLEARED: Topics.FLAG_CLEARED, DISPUTED: Topics.FLAG_DISPUTED }[payload.status];
  const audience = [...new Set([...payload.shared_with, payload.provider])];
  await append(t, [{ topic, owner: spec.owner, tlp: spec.tlp, sharedWith: audience, payload: { ...payload } }]);
  return id;
}

/** Waits until the incidents subgraph's projection has applied every account event in the log so far. */
export async function projected(db: pg.Client): Promise<void> {
  const { rows } = await db.query("select coalesce(max(seq), 0)::bigint as seq from hub.event where topic like 'account.%'");
  const target = Number(rows[0].seq);
  for (const deadline = Date.now() + 15_000; ; await sleep(20)) {
    const r = await db.query("select seq from incidents.projection_cursor where name = 'account-markings'");
    const position = Number(r.rows[0]?.seq ?? 0);
    if (position >= target) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for the account projection to reach ${target} (at ${position})`);
  }
}
