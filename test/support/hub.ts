import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "graphql-ws";
import { inject } from "vitest";
import WebSocket from "ws";
import { mintDevToken, type TokenRequest } from "../../src/auth/dev-keys.js";
import type { OrgKind } from "../../src/auth/viewer.js";
import { loadConfig } from "../../src/config.js";
import { startHub, type RunningHub } from "../../app/hub.js";
import { createLogger, type Logger } from "../../src/logger.js";
import { SUBGRAPHS } from "../../app/subgraphs.js";

export interface GraphQLResponse<T = any> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown>; path?: unknown[] }[];
}

export interface TestHub {
  hub: RunningHub;
  gatewayUrl: string;
  dataDir: string;
  subgraphUrl(name: string): string;
  /** A token from the hub's development issuer. */
  token(org: string, kind: OrgKind, scopes: string[], extra?: Partial<TokenRequest>): Promise<string>;
  /** POST a GraphQL request (to the gateway unless `url` says otherwise). */
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string, url?: string): Promise<GraphQLResponse<T>>;
  /** A graphql-ws client with this token (to the gateway unless `url` says otherwise). */
  ws(token: string, url?: string): Client;
  stop(): Promise<void>;
}

/** Identifier hash keys for a hub started in production mode, which requires them (development makes its own). */
export const TEST_HASH_KEYS = `test-1:${randomBytes(32).toString("base64")}`;

/** Every key a hub started in production mode requires (development makes its own under DATA_DIR/keys). */
export const PRODUCTION_KEYS = {
  IDENTIFIER_HASH_KEYS: TEST_HASH_KEYS,
  RECORD_MASTER_KEYS: `test-master-1:${randomBytes(32).toString("base64")}`,
  RECORD_INDEX_KEYS: `test-index-1:${randomBytes(32).toString("base64")}`,
};

/** A clock a test moves by hand (`advance`), for rules about periods (retention, grants, expiry). */
export function testClock(start = new Date()) {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance(days: number) {
      now += days * 24 * 3600 * 1000;
    },
  };
}

/** A logger that keeps every line it writes (at `level`), for tests that read what reached the log. */
export function capturedLog(level = "trace"): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLogger(level, "watchfloor", sink), lines };
}

/** Unique org ids per test file, so files sharing one database never see each other's data. */
export function orgId(name: string): string {
  return `${name}-${randomBytes(3).toString("hex")}`;
}

/** The whole hub (every subgraph and the gateway) on free ports, on the test run's database. */
export async function startTestHub(env: Record<string, string> = {}, options: { clock?: () => Date; log?: Logger } = {}): Promise<TestHub> {
  const dataDir = await mkdtemp(join(tmpdir(), "watchfloor-hub-"));
  const config = loadConfig({
    DATABASE_URL: inject("databaseUrl"),
    DATA_DIR: dataDir,
    PORT: "0",
    SUBGRAPH_PORT_BASE: "0",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    NODE_ENV: "test",
    ...env,
  });
  const hub = await startHub(config, options.log ?? createLogger(config.logging.LOG_LEVEL), { subgraphs: SUBGRAPHS, gateway: true, clock: options.clock });
  const gatewayUrl = hub.gateway!.url;
  return {
    hub,
    gatewayUrl,
    dataDir,
    subgraphUrl: (name) => hub.subgraphs.find((s) => s.name === name)!.url,
    token: (org, kind, scopes, extra = {}) => mintDevToken(dataDir, { org, kind, scopes, ...extra }),
    async gql(query, variables, token, url = gatewayUrl) {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      let body: any;
      try {
        body = JSON.parse(text);
      } catch {
        body = { errors: [{ message: `non-JSON response: ${text.slice(0, 200)}` }] };
      }
      return { status: res.status, data: body.data, errors: body.errors };
    },
    ws(token, url = gatewayUrl) {
      return createClient({
        url: url.replace(/^http/, "ws"),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
        lazy: true,
      });
    },
    stop: () => hub.stop(),
  };
}

/** Collects events of one subscription until `count` arrive (or the timeout passes). */
export function collect<T>(client: Client, query: string, variables: Record<string, unknown>, count: number, timeoutMs = 15_000) {
  const received: T[] = [];
  const errors: unknown[] = [];
  let unsubscribe: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    unsubscribe = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          if (value.errors) errors.push(...value.errors);
          if (value.data) received.push(value.data as T);
          if (received.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
        error: (err) => {
          errors.push(err);
          clearTimeout(timer);
          resolve();
        },
        complete: () => {
          clearTimeout(timer);
          resolve();
        },
      },
    );
  });
  return { received, errors, done, stop: () => unsubscribe() };
}
