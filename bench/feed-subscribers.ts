import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

/**
 * The feed bench's subscribers, in a process of their own (forked by feed.ts with an IPC channel), so
 * that neither the gateway nor the producer shares their event loop. One graphql-ws client, hence one
 * socket, per subscriber, each with its own token. Every incident of the bench carries its send time
 * in its title (`bench-<phase>-<n>-<epoch ms>`), so a delivery's latency is read from the payload.
 *
 * Messages from the parent: start, status, phase, result, close (see `Request`); each is answered once.
 */

export type Request =
  | { type: "start"; url: string; query: string; tokens: string[]; orgs: string[]; withValues: boolean; connectBatch: number }
  | { type: "status"; warm?: number }
  | { type: "phase"; phase: string; incidents: number }
  | { type: "result"; phase: string; responseMs: number[] }
  | { type: "close" };

export interface Status {
  subscribers: number;
  /** Subscribers that have received a warm-up incident: their subscription is live end to end. */
  live: number;
  /** Subscribers that have received warm-up incident `warm` or a later one (their backlog is drained). */
  warmed: number;
  /** Deliveries of the current phase so far (distinct subscriber × incident). */
  received: number;
  lastDeliveryMs: number;
  errors: number;
  firstError: string | null;
}

export interface PhaseResult {
  expected: number;
  received: number;
  lost: number;
  duplicates: number;
  /** Deliveries whose payload was not what this subscriber should see (see `check`). */
  badPayloads: number;
  firstBadPayload: string | null;
  errors: number;
  firstError: string | null;
  sendToDelivery: Percentiles;
  responseToDelivery: Percentiles;
  firstSendMs: number;
  lastDeliveryMs: number;
  /** Lost deliveries, by subscriber: how many subscribers lost any, and the most one lost. */
  subscribersMissing: number;
  worstSubscriberMissing: number;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  n: number;
}

const TITLE = /^bench-([a-z0-9]+)-(\d+)-(\d+(?:\.\d+)?)$/;
const now = () => performance.timeOrigin + performance.now();

interface Subscriber {
  org: string;
  client: Client;
  live: boolean;
  lastWarm: number;
}

let subscribers: Subscriber[] = [];
let withValues = false;
let phase: { name: string; incidents: number; arrived: Float64Array[]; sendMs: Float64Array; received: number; duplicates: number; lastDeliveryMs: number } | undefined;
let errors = 0;
let firstError: string | null = null;
let badPayloads = 0;
let firstBadPayload: string | null = null;

function noteError(err: unknown): void {
  errors++;
  firstError ??= err instanceof Error ? err.message : typeof err === "object" && err && "reason" in err ? `socket closed: ${(err as { code?: number; reason?: string }).code} ${(err as { reason?: string }).reason}` : JSON.stringify(err).slice(0, 300);
}

/** The incident as this subscriber's org should see it: itself as the only agency, and every link. */
function check(sub: Subscriber, n: number, incident: any): string | null {
  if (!incident || typeof incident.id !== "string") return "no incident";
  if (!Array.isArray(incident.referredTo) || incident.referredTo.length !== 1 || incident.referredTo[0] !== sub.org) {
    return `referredTo ${JSON.stringify(incident.referredTo)} for ${sub.org}`;
  }
  const links = incident.indicators;
  if (!Array.isArray(links) || links.length !== 1 + (n % 3)) return `indicators ${JSON.stringify(links)} (expected ${1 + (n % 3)})`;
  if (withValues && links.some((l: any) => typeof l?.value !== "string" || !l.value)) return `indicator values missing: ${JSON.stringify(links)}`;
  return null;
}

function onData(sub: Subscriber, index: number, value: any): void {
  const at = now();
  if (value.errors?.length) noteError({ reason: JSON.stringify(value.errors).slice(0, 300) });
  const incident = value.data?.incidentFeed?.incident;
  const title: string | undefined = incident?.title;
  if (!title) return;
  if (title.startsWith("bench-warm-")) {
    sub.live = true;
    sub.lastWarm = Math.max(sub.lastWarm, Number(title.slice("bench-warm-".length)));
    return;
  }
  const m = TITLE.exec(title);
  if (!m || !phase || m[1] !== phase.name) return;
  const n = Number(m[2]);
  if (!(n >= 0 && n < phase.incidents)) return;
  const fault = check(sub, n, incident);
  if (fault) {
    badPayloads++;
    firstBadPayload ??= fault;
  }
  const row = phase.arrived[index]!;
  if (!Number.isNaN(row[n]!)) {
    phase.duplicates++;
    return;
  }
  row[n] = at;
  phase.sendMs[n] = Number(m[3]);
  phase.received++;
  phase.lastDeliveryMs = at;
}

async function start(req: Extract<Request, { type: "start" }>): Promise<Status> {
  withValues = req.withValues;
  const wsUrl = req.url.replace(/^http/, "ws");
  for (let i = 0; i < req.tokens.length; i += req.connectBatch) {
    const batch = req.tokens.slice(i, i + req.connectBatch).map(async (token, k) => {
      const index = i + k;
      const connected = new Promise<void>((resolve) => {
        const client = createClient({
          url: wsUrl,
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${token}` },
          retryAttempts: 0,
          lazy: false,
          on: { connected: () => resolve(), closed: () => resolve() },
          onNonLazyError: (err) => {
            noteError(err);
            resolve();
          },
        });
        const sub: Subscriber = { org: req.orgs[index]!, client, live: false, lastWarm: -1 };
        subscribers[index] = sub;
        client.subscribe(
          { query: req.query },
          {
            next: (value) => onData(sub, index, value),
            error: (err) => noteError(err),
            complete: () => undefined,
          },
        );
      });
      await connected;
    });
    await Promise.all(batch);
  }
  return status();
}

function status(warm = Infinity): Status {
  return {
    subscribers: subscribers.length,
    live: subscribers.filter((s) => s.live).length,
    warmed: subscribers.filter((s) => s.lastWarm >= warm).length,
    received: phase?.received ?? 0,
    lastDeliveryMs: phase?.lastDeliveryMs ?? 0,
    errors,
    firstError,
  };
}

function percentiles(values: Float64Array): Percentiles {
  const sorted = values.slice().sort();
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : NaN);
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.length ? sorted[sorted.length - 1]! : NaN, n: sorted.length };
}

function result(req: Extract<Request, { type: "result" }>): PhaseResult {
  if (!phase || phase.name !== req.phase) throw new Error(`no phase ${req.phase}`);
  const p = phase;
  const fromSend = new Float64Array(p.received);
  const fromResponse = new Float64Array(p.received);
  let k = 0;
  let subscribersMissing = 0;
  let worst = 0;
  for (const row of p.arrived) {
    let missing = 0;
    for (let n = 0; n < p.incidents; n++) {
      const at = row[n]!;
      if (Number.isNaN(at)) {
        missing++;
        continue;
      }
      fromSend[k] = at - p.sendMs[n]!;
      fromResponse[k] = at - (req.responseMs[n] ?? NaN);
      k++;
    }
    if (missing) subscribersMissing++;
    worst = Math.max(worst, missing);
  }
  let firstSendMs = Infinity;
  for (const s of p.sendMs) if (s > 0 && s < firstSendMs) firstSendMs = s;
  const expected = p.incidents * p.arrived.length;
  return {
    expected,
    received: p.received,
    lost: expected - p.received,
    duplicates: p.duplicates,
    badPayloads,
    firstBadPayload,
    errors,
    firstError,
    sendToDelivery: percentiles(fromSend),
    responseToDelivery: percentiles(fromResponse.filter((x) => !Number.isNaN(x))),
    firstSendMs,
    lastDeliveryMs: p.lastDeliveryMs,
    subscribersMissing,
    worstSubscriberMissing: worst,
  };
}

async function handle(req: Request): Promise<unknown> {
  switch (req.type) {
    case "start":
      return start(req);
    case "status":
      return status(req.warm);
    case "phase": {
      phase = {
        name: req.phase,
        incidents: req.incidents,
        arrived: subscribers.map(() => new Float64Array(req.incidents).fill(NaN)),
        sendMs: new Float64Array(req.incidents),
        received: 0,
        duplicates: 0,
        lastDeliveryMs: 0,
      };
      badPayloads = 0;
      firstBadPayload = null;
      return status();
    }
    case "result":
      return result(req);
    case "close": {
      await Promise.all(subscribers.map((s) => s.client.dispose()));
      subscribers = [];
      return { closed: true };
    }
  }
}

process.on("message", (msg: { id: number; req: Request }) => {
  handle(msg.req).then(
    (value) => process.send!({ id: msg.id, value }),
    (err: Error) => process.send!({ id: msg.id, error: err.stack ?? String(err) }),
  );
});
process.on("disconnect", () => process.exit(0));
