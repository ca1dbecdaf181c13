import { fork, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { machineBusy } from "./cpu.js";
import type { PhaseResult, Request, Status } from "./feed-subscribers.js";
import type { Child, ServerMemory } from "./processes.js";
import { gql } from "./seed.js";

/**
 * The incident feed under load: S graphql-ws subscribers (one socket and, by default, one token each)
 * spread over A agencies, every one selecting the incident and its indicators, while a producer
 * reports incidents at a fixed rate (open loop: a report is sent when it is due, whatever is still in
 * flight). Every incident is AMBER and referred to all the agencies, so every subscriber should see
 * every incident, each agency seeing only itself in `referredTo`; each links 1-3 GREEN indicators the
 * reporting provider published beforehand.
 *
 * Latency is measured per delivery from the send time in the incident's title (send → delivery) and
 * from the moment the producer had the report's HTTP response (response → delivery: the commit is
 * just before the response, so this is a lower bound of commit → delivery).
 */

/** Through the gateway: `indicators { value }` comes from the indicators subgraph. */
export const FEED_QUERY_GATEWAY = "subscription { incidentFeed { cursor kind incident { id title severity referredTo indicators { id value } } } }";
/** Straight to the incidents subgraph: the selection it can serve alone. */
export const FEED_QUERY_DIRECT = "subscription { incidentFeed { cursor kind incident { id title severity referredTo indicators { id } } } }";

const REPORT = `mutation Report($input: IncidentInput!) { reportIncident(input: $input) { incident { id } error { field message } } }`;
const PUBLISH = `mutation Publish($input: [IndicatorInput!]!) { publishIndicators(input: $input) { published failed results { indicator { id } error { message } } } }`;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type TokenFor = (org: string, kind: "PROVIDER" | "AGENCY", scopes: string[], sub?: string) => Promise<string>;

export interface FeedSetup {
  providerToken: string;
  agencies: string[];
  /** One per subscriber (tokenPer "subscriber") or the agency's one token repeated ("org"). */
  subscriberTokens: string[];
  subscriberOrgs: string[];
  indicatorIds: string[];
  tokenPer: "subscriber" | "org";
}

/** The provider, the agencies (in the directory as AGENCY), the subscribers' tokens and the indicators. */
export async function prepareFeed(options: {
  incidentsUrl: string;
  indicatorsUrl: string;
  token: TokenFor;
  subscribers: number;
  agencies: number;
  tokenPer: "subscriber" | "org";
  indicators?: number;
}): Promise<FeedSetup> {
  const provider = "bench-feed-provider";
  const providerToken = await options.token(provider, "PROVIDER", ["incidents:read", "incidents:write", "indicators:read", "indicators:write"]);
  const agencies = Array.from({ length: options.agencies }, (_, i) => `bench-agency-${String(i).padStart(2, "0")}`);
  const scopes = ["incidents:read", "indicators:read"];
  const agencyTokens = await Promise.all(agencies.map((org) => options.token(org, "AGENCY", scopes)));
  // First sight of a token provisions its org: referrals may then name the agencies.
  for (const t of [providerToken, ...agencyTokens]) await gql(options.incidentsUrl, t, "{ incidents(first: 1) { edges { cursor } } }");
  const subscriberOrgs = Array.from({ length: options.subscribers }, (_, i) => agencies[i % agencies.length]!);
  const subscriberTokens =
    options.tokenPer === "org"
      ? subscriberOrgs.map((org) => agencyTokens[agencies.indexOf(org)]!)
      : await Promise.all(subscriberOrgs.map((org, i) => options.token(org, "AGENCY", scopes, `bench-subscriber-${String(i).padStart(4, "0")}`)));
  const count = options.indicators ?? 300;
  const items = Array.from({ length: count }, (_, i) => ({ type: "DOMAIN", value: `feed-${i}.bench.example.org`, tlp: "GREEN", confidence: 60, labels: ["bench-feed"] }));
  const data = await gql(options.indicatorsUrl, providerToken, PUBLISH, { input: items });
  if (data.publishIndicators.failed) throw new Error(`feed indicators: ${JSON.stringify(data.publishIndicators.results.find((r: any) => r.error))}`);
  const indicatorIds = data.publishIndicators.results.map((r: any) => r.indicator.id as string);
  return { providerToken, agencies, subscriberTokens, subscriberOrgs, indicatorIds, tokenPer: options.tokenPer };
}

/** Incident n links 1 + n % 3 indicators (the subscribers check the count). */
const linksOf = (setup: FeedSetup, n: number) => Array.from({ length: 1 + (n % 3) }, (_, k) => setup.indicatorIds[(n * 3 + k) % setup.indicatorIds.length]!);

async function report(url: string, setup: FeedSetup, title: string, n: number): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${setup.providerToken}` },
    body: JSON.stringify({
      query: REPORT,
      variables: { input: { title, severity: "HIGH", tlp: "AMBER", referredTo: setup.agencies, indicatorIds: linksOf(setup, n), incidentTypes: ["bench"] } },
    }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
  const json = JSON.parse(text);
  const out = json.data?.reportIncident;
  if (json.errors?.length || !out?.incident) throw new Error(JSON.stringify(json.errors ?? out?.error).slice(0, 300));
}

/** The subscriber process: requests answered over IPC. */
class Subscribers {
  private readonly child: ChildProcess;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<void>;

  constructor() {
    this.child = fork(join(dirname(fileURLToPath(import.meta.url)), "feed-subscribers.js"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: [] });
    liveSubscriberPids.add(this.child.pid!);
    this.child.on("message", (msg: { id: number; value?: unknown; error?: string }) => {
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.error) w.reject(new Error(`subscribers: ${msg.error}`));
      else w.resolve(msg.value);
    });
    this.exited = new Promise((resolve) =>
      this.child.once("exit", (code, signal) => {
        liveSubscriberPids.delete(this.child.pid!);
        for (const w of this.waiting.values()) w.reject(new Error(`the subscriber process exited (${code ?? signal})`));
        this.waiting.clear();
        resolve();
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  ask<T>(req: Request): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ id, req });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await this.ask({ type: "close" }).catch(() => undefined);
    this.child.disconnect();
    const timeout = sleep(10_000).then(() => "timeout");
    if ((await Promise.race([this.exited, timeout])) === "timeout") this.child.kill("SIGKILL");
    await this.exited;
  }
}

/** Pids of the running subscriber processes, for the CPU meter. */
export const liveSubscriberPids = new Set<number>();
process.on("exit", () => {
  for (const pid of liveSubscriberPids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

export interface FeedPhase {
  rate: number;
  incidents: number;
  /** Send of the first report to the end of the wait for deliveries. */
  seconds: number;
  /** Reports per second the producer achieved (open loop: below the rate only if it fell behind). */
  sentPerSecond: number;
  reportFailures: number;
  firstReportFailure: string | null;
  reportMsP50: number;
  reportMsP99: number;
  /** Deliveries per second, first send to last delivery. */
  deliveredPerSecond: number;
  /** False when the wait ended with deliveries still missing (stalled, or the wait's cap was reached). */
  drained: boolean;
  /** The wait ended because nothing arrived for stallSeconds (else the cap ended it, still arriving). */
  stalled: boolean;
  drainSeconds: number;
  result: PhaseResult;
  /** CPU seconds per process group over the phase. */
  cpu: Record<string, number>;
  /** The whole machine over the phase, other tenants included (% of one core; 200% = both cores). */
  machineBusyPercent: number;
}

export interface FeedSide {
  side: string;
  subscribers: number;
  tokenPer: "subscriber" | "org";
  connectSeconds: number;
  warmSeconds: number;
  /** The server the subscribers connect to, before they connect and with them (after warm-up). */
  memoryBefore: ServerMemory;
  memoryWith: ServerMemory;
  /** The incidents subgraph, when it is not the server above (through the gateway). */
  upstreamBefore?: ServerMemory;
  upstreamWith?: ServerMemory;
  phases: FeedPhase[];
}

export interface FeedSideOptions {
  side: string;
  /** Where the subscribers connect. */
  url: string;
  query: string;
  withValues: boolean;
  /** Where the producer reports. */
  producerUrl: string;
  setup: FeedSetup;
  /** The server the subscribers connect to (memory), and the incidents subgraph when different. */
  server: Child;
  upstream?: Child;
  rates: number[];
  incidents: number;
  /** Phase names are `<prefix><rate>`: lower-case letters and digits. */
  prefix: string;
  /** Stop waiting for deliveries after this long without progress, or this long in all. */
  stallSeconds: number;
  drainCapSeconds: number;
  meter: { start(): () => Record<string, number> };
  say: (msg: string) => void;
}

let warmCounter = 0;

/**
 * A server's memory once what an earlier phase left (sockets closing, queues draining) is gone: read
 * after full GCs until two readings a second apart agree within 1 MB (30 s at most). Read at once,
 * the baseline of a later run carried the previous run's leftovers and the per-subscriber figure
 * came out negative.
 */
async function settledMemory(server: FeedSideOptions["server"]): Promise<ServerMemory> {
  let last = await server.memory();
  for (let i = 0; i < 30; i++) {
    await sleep(1000);
    const next = await server.memory();
    if (Math.abs(next.heapUsed - last.heapUsed) < 1024 * 1024) return next;
    last = next;
  }
  return last;
}

export async function runFeedSide(o: FeedSideOptions): Promise<FeedSide> {
  const subscriberCount = o.setup.subscriberTokens.length;
  const memoryBefore = await settledMemory(o.server);
  const upstreamBefore = o.upstream ? await settledMemory(o.upstream) : undefined;
  const subs = new Subscribers();
  try {
    const connectStarted = now();
    let status = await subs.ask<Status>({
      type: "start",
      url: o.url,
      query: o.query,
      tokens: o.setup.subscriberTokens,
      orgs: o.setup.subscriberOrgs,
      withValues: o.withValues,
      connectBatch: 50,
    });
    const connectSeconds = (now() - connectStarted) / 1000;
    if (status.errors) throw new Error(`${o.side}: ${status.errors} subscriber errors while connecting; first: ${status.firstError}`);

    // A subscription is live once an incident reaches it: report warm-up incidents (one every 2 s
    // at most) until every subscriber has had one; they also warm the plans and caches on the way.
    // Then one last warm-up, awaited by all: nothing of the warm-up is still queued when the phases start.
    const warmStarted = now();
    const awaitWarm = async (final: boolean) => {
      for (;;) {
        const warm = warmCounter++;
        await report(o.producerUrl, o.setup, `bench-warm-${warm}`, 0);
        const sent = now();
        for (;;) {
          await sleep(250);
          status = await subs.ask<Status>({ type: "status", warm });
          if (status.errors) throw new Error(`${o.side}: subscriber errors during warm-up; first: ${status.firstError}`);
          if ((final ? status.warmed : status.live) === subscriberCount) return;
          if (now() - warmStarted > 300_000) throw new Error(`${o.side}: only ${status.live} of ${subscriberCount} subscriptions live after 300 s`);
          if (!final && now() - sent > 2000) break;
        }
      }
    };
    await awaitWarm(false);
    await awaitWarm(true);
    const warmSeconds = (now() - warmStarted) / 1000;
    const memoryWith = await o.server.memory();
    const upstreamWith = await o.upstream?.memory();
    o.say(
      `feed ${o.side}: ${subscriberCount} subscribers live (connect ${connectSeconds.toFixed(1)} s, warm-up ${warmSeconds.toFixed(1)} s); ` +
        `${o.server.label} RSS ${mb(memoryBefore.rss)} → ${mb(memoryWith.rss)} MB, heap ${mb(memoryBefore.heapUsed)} → ${mb(memoryWith.heapUsed)} MB`,
    );

    const phases: FeedPhase[] = [];
    for (const rate of o.rates) {
      const name = `${o.prefix}${rate}`;
      await subs.ask({ type: "phase", phase: name, incidents: o.incidents });
      const stop = o.meter.start();
      const machine = machineBusy();
      const started = now();
      const sendMs = new Array<number>(o.incidents).fill(NaN);
      const responseMs = new Array<number>(o.incidents).fill(NaN);
      let failures = 0;
      let firstFailure: string | null = null;
      const inFlight = new Set<Promise<void>>();
      const t0 = performance.now();
      for (let n = 0; n < o.incidents; n++) {
        const wait = t0 + (n * 1000) / rate - performance.now();
        if (wait > 0.5) await sleep(wait);
        // Open loop, but with a bound: a server that stops answering should not get thousands at once.
        while (inFlight.size >= 256) await Promise.race(inFlight);
        sendMs[n] = now();
        const p = report(o.producerUrl, o.setup, `bench-${name}-${n}-${sendMs[n]!.toFixed(1)}`, n).then(
          () => {
            responseMs[n] = now();
          },
          (err: Error) => {
            failures++;
            firstFailure ??= err.message;
          },
        );
        const tracked = p.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
      }
      const sentSeconds = (now() - started) / 1000;
      await Promise.all(inFlight);

      // Wait for every delivery, or until they stop coming.
      const expected = o.incidents * subscriberCount;
      const drainStarted = now();
      let lastReceived = -1;
      let lastProgress = now();
      let drained = false;
      let stalled = false;
      for (;;) {
        status = await subs.ask<Status>({ type: "status" });
        if (status.received >= expected) {
          drained = true;
          break;
        }
        if (status.received !== lastReceived) {
          lastReceived = status.received;
          lastProgress = now();
        }
        stalled = now() - lastProgress > o.stallSeconds * 1000;
        if (stalled || now() - drainStarted > o.drainCapSeconds * 1000) break;
        await sleep(250);
      }
      const cpu = stop();
      const machineBusyPercent = machine();
      const seconds = (now() - started) / 1000;
      const result = await subs.ask<PhaseResult>({ type: "result", phase: name, responseMs });
      const reportMs = sendMs.map((s, i) => responseMs[i]! - s).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
      const q = (p: number) => reportMs[Math.min(reportMs.length - 1, Math.max(0, Math.ceil(p * reportMs.length) - 1))] ?? NaN;
      const phase: FeedPhase = {
        rate,
        incidents: o.incidents,
        seconds,
        sentPerSecond: o.incidents / sentSeconds,
        reportFailures: failures,
        firstReportFailure: firstFailure,
        reportMsP50: q(0.5),
        reportMsP99: q(0.99),
        deliveredPerSecond: result.received / ((result.lastDeliveryMs - result.firstSendMs) / 1000),
        drained,
        stalled,
        drainSeconds: (now() - drainStarted) / 1000,
        result,
        cpu,
        machineBusyPercent,
      };
      phases.push(phase);
      const r = result;
      o.say(
        `feed ${o.side} @${rate}/s: ${r.received}/${r.expected} delivered (${phase.deliveredPerSecond.toFixed(0)}/s, ${(rate * subscriberCount).toFixed(0)}/s offered), ` +
          `lost ${r.lost}${drained ? "" : stalled ? ` (nothing arrived for ${o.stallSeconds} s)` : ` (still arriving when the ${o.drainCapSeconds} s wait ended: late, maybe not lost)`}, dup ${r.duplicates}, bad ${r.badPayloads}, errors ${r.errors}; ` +
          `send→delivery p50 ${r.sendToDelivery.p50.toFixed(1)} p99 ${r.sendToDelivery.p99.toFixed(1)} max ${r.sendToDelivery.max.toFixed(0)} ms; ` +
          `response→delivery p50 ${r.responseToDelivery.p50.toFixed(1)} p99 ${r.responseToDelivery.p99.toFixed(1)} ms; ` +
          `report p50 ${phase.reportMsP50.toFixed(1)} ms, sent ${phase.sentPerSecond.toFixed(1)}/s, failures ${failures}${firstFailure ? ` (${firstFailure})` : ""}`,
      );
      if (r.firstBadPayload) o.say(`feed ${o.side} @${rate}/s: first bad payload: ${r.firstBadPayload}`);
      if (r.firstError) o.say(`feed ${o.side} @${rate}/s: first subscriber error: ${r.firstError}`);
    }
    return { side: o.side, subscribers: subscriberCount, tokenPer: o.setup.tokenPer, connectSeconds, warmSeconds, memoryBefore, memoryWith, upstreamBefore, upstreamWith, phases };
  } finally {
    await subs.stop();
  }
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
