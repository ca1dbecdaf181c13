import { z } from "zod";

/**
 * Every setting the hub reads, validated in one place. One schema per concern; a wrong value stops
 * the process with every problem listed at once (see `ConfigError`), never a stack trace.
 */

const port = z.coerce.number().int().min(1).max(65535);
/** 0 asks the system for any free port (tests, benchmarks). */
const listenPort = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

const ServerSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: listenPort.default(4000),
  SUBGRAPH_PORT_BASE: listenPort.default(4101),
  CORS_ORIGINS: optionalString.pipe(
    z
      .string()
      .regex(/^https?:\/\/[^,\s/]+(,https?:\/\/[^,\s/]+)*$/, "origins (scheme://host[:port]) separated by commas")
      .optional(),
  ),
  SUBGRAPH_URLS: optionalString.pipe(
    z
      .string()
      .regex(/^([a-z]+=https?:\/\/[^,\s]+)(,[a-z]+=https?:\/\/[^,\s]+)*$/, "name=url pairs separated by commas")
      .optional(),
  ),
});

const DatabaseSchema = z.object({
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "a postgres:// or postgresql:// URL")
      .optional(),
  ),
  DATA_DIR: z.string().min(1).default(".data"),
  EMBEDDED_PG_PORT: port.default(54329),
  DB_POOL_MAX: positiveInt.max(200).default(10),
});

const ALGORITHMS = ["ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"] as const;

const AuthSchema = z
  .object({
    AUTH_JWKS_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    AUTH_JWKS_FILE: optionalString,
    AUTH_ISSUER: optionalString,
    AUTH_AUDIENCE: optionalString,
    AUTH_ALGORITHMS: z
      .string()
      .default("ES256,RS256,EdDSA")
      .transform((v) => v.split(",").map((a) => a.trim()).filter(Boolean))
      .pipe(z.array(z.enum(ALGORITHMS, { error: `one of ${ALGORITHMS.join(", ")} (HS* and none are never accepted)` })).min(1)),
    AUTH_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(60).default(30),
    /** The longest lifetime (`exp` − `iat`) a token may claim; a stolen token is good for no longer. */
    AUTH_MAX_TOKEN_LIFETIME_SECONDS: positiveInt.max(30 * 24 * 3600).default(24 * 3600),
  })
  .superRefine((v, ctx) => {
    if (v.AUTH_JWKS_URL && v.AUTH_JWKS_FILE) {
      ctx.addIssue({ code: "custom", path: ["AUTH_JWKS_FILE"], message: "set AUTH_JWKS_URL or AUTH_JWKS_FILE, not both" });
    }
    if (v.AUTH_JWKS_URL || v.AUTH_JWKS_FILE) {
      for (const key of ["AUTH_ISSUER", "AUTH_AUDIENCE"] as const) {
        if (!v[key]) ctx.addIssue({ code: "custom", path: [key], message: "required when a JWKS is configured" });
      }
    }
  });

const LimitsSchema = z.object({
  MAX_DEPTH: positiveInt.max(50).default(10),
  MAX_ALIASES: positiveInt.max(200).default(15),
  MAX_TOKENS: positiveInt.max(100_000).default(10_000),
  MAX_COST: positiveInt.default(20_000),
  MAX_DIRECTIVES: positiveInt.max(200).default(20),
  MAX_BATCHED_OPERATIONS: z.coerce.number().int().min(0).max(50).default(5),
  /** Values in any one list argument (or list input field), literal or variable, before anything runs. */
  // The longest list the API takes is recordAccessEvents' 10,000 access events; each field's own cap
  // (5,000 accounts, 1,000 indicators, 1,000 identifiers to match) is checked by its service.
  MAX_LIST_VALUES: positiveInt.max(100_000).default(10_000),
  // 5,000 accounts with a few identifiers each come to about 2 MB of JSON; 10,000 access events to about 1.2 MB.
  MAX_BODY_BYTES: positiveInt.max(50 * 1024 * 1024).default(4 * 1024 * 1024),
  /** STIX objects in one import (a bundle, or a TAXII envelope): a 50,000-indicator feed fits. */
  MAX_IMPORT_OBJECTS: positiveInt.max(1_000_000).default(100_000),
});

const EventsSchema = z.object({
  EVENT_RETENTION_DAYS: positiveInt.max(3650).default(30),
  /** Recent events a shared subscription keeps so that a subscriber ending its catch-up joins without a gap. */
  SUBSCRIPTION_RING_SIZE: positiveInt.max(100_000).default(1024),
  // Well under the shortest retention (a day): the ring never holds events the log has pruned.
  SUBSCRIPTION_RING_SECONDS: positiveInt.max(3600).default(600),
});

const IdempotencySchema = z.object({
  /** How long a mutation's Idempotency-Key and answer are kept: a retry within it is answered from them. */
  IDEMPOTENCY_WINDOW_SECONDS: positiveInt.max(30 * 24 * 3600).default(24 * 3600),
});
/**
 * The HTTP servers (gateway and subgraphs) against slow or greedy clients, and how a stopping process
 * drains them. Node's own defaults held a socket that sends its headers a byte at a time for a minute.
 */
const HttpSchema = z
  .object({
    /** A stopping process answers the requests it holds for at most this long, then closes them. */
    DRAIN_TIMEOUT_SECONDS: positiveInt.max(300).default(10),
    /** From a connection's first byte to the end of its request headers. */
    HTTP_HEADERS_TIMEOUT_SECONDS: positiveInt.max(300).default(10),
    /** From a request's first byte to the end of its body (not its answer: SSE streams are not cut). */
    HTTP_REQUEST_TIMEOUT_SECONDS: positiveInt.max(3600).default(30),
    /** Requests one keep-alive connection may carry; the last is answered with `Connection: close`. */
    HTTP_MAX_REQUESTS_PER_SOCKET: positiveInt.max(1_000_000).default(1000),
    /** Open connections per server (graphql-ws sockets included); further ones are closed at once. */
    HTTP_MAX_CONNECTIONS: positiveInt.max(1_000_000).default(10_000),
  })
  .superRefine((v, ctx) => {
    if (v.HTTP_HEADERS_TIMEOUT_SECONDS > v.HTTP_REQUEST_TIMEOUT_SECONDS) {
      ctx.addIssue({ code: "custom", path: ["HTTP_HEADERS_TIMEOUT_SECONDS"], message: "at most HTTP_REQUEST_TIMEOUT_SECONDS (the headers are part of the request)" });
    }
  });

const KEYRING = /^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/_-]{43,88}={0,2}(,[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/_-]{43,88}={0,2})*$/;

const IdentifiersSchema = z.object({
  /**
   * Keys of the keyed hashes (HMAC-SHA-256) of account identifiers, as `id:base64key` pairs separated
   * by commas, each key 32 bytes or more: the first hashes what is stored from now on, every one is
   * used to match, so that a key can be rotated without losing matches. Unset in development: the
   * hub makes one under DATA_DIR/keys.
   */
  IDENTIFIER_HASH_KEYS: optionalString.pipe(z.string().regex(KEYRING, "id:base64key pairs (keys of 32 bytes or more) separated by commas").optional()),
  /** Identifiers an org may match per day (UTC): a hash of a guessable value can be confirmed by guessing. */
  MATCH_DAILY_BUDGET: positiveInt.max(10_000_000).default(10_000),
});

/** A ring of AES-256 master keys: `id:base64key` pairs, each key exactly 32 bytes, the first wrapping new data keys. */
const MASTER_RING = /^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/_-]{43}=?(,[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/_-]{43}=?)*$/;

/**
 * Customer identification records (EO 13984 §1). The periods and thresholds follow the Commerce
 * proposed rule of January 2024 (89 FR 5698); the rule is not final, so each is a setting.
 */
const VerificationSchema = z.object({
  /**
   * Master keys that wrap each record's data key (AES-256-GCM). Rotation: put a new key first, keep
   * the old ones, run `npm run rewrap-record-keys`; then the old ones may go. Unset in development:
   * the hub makes one under DATA_DIR/keys.
   */
  RECORD_MASTER_KEYS: optionalString.pipe(z.string().regex(MASTER_RING, "id:base64key pairs (each key exactly 32 bytes) separated by commas").optional()),
  /** Keys of the blind index (HMAC-SHA-256) for exact lookups of national ids, e-mails, phones and cards. */
  RECORD_INDEX_KEYS: optionalString.pipe(z.string().regex(KEYRING, "id:base64key pairs (keys of 32 bytes or more) separated by commas").optional()),
  /** Records are kept this long after the later of the account's closure and its last access. */
  CIP_RETENTION_DAYS: positiveInt.max(36500).default(730),
  /** A verified customer is due for re-verification this long after its last verification. */
  CIP_REVERIFY_AFTER_DAYS: positiveInt.max(36500).default(1095),
  /** How long an UNVERIFIED customer may keep a restricted account before it must be closed. */
  CIP_UNVERIFIED_MAX_DAYS: positiveInt.max(3650).default(90),
  /** Ownership (percent) from which a person is a beneficial owner. */
  CIP_OWNERSHIP_PERCENT: z.coerce.number().min(1).max(100).default(25),
  /** How long an approved disclosure lets the requesting agency read the record. */
  DISCLOSURE_ACCESS_DAYS: positiveInt.max(365).default(30),
  /** Access events in one recordAccessEvents call. */
  MAX_ACCESS_EVENTS: positiveInt.max(100_000).default(10_000),
});

const TaxiiSchema = z.object({
  /** The largest TAXII POST body (an envelope of objects) in bytes, announced by the API root; larger ones get 413. */
  TAXII_MAX_CONTENT_LENGTH: positiveInt.max(1024 * 1024 * 1024).default(64 * 1024 * 1024),
  /** The most objects one TAXII page (or GraphQL stixObjects page) holds; a larger `limit` is cut to it. */
  TAXII_MAX_PAGE_SIZE: positiveInt.max(100_000).default(1000),
});

/** Observable types that have decay parameters of their own; DEFAULT is for patterns that name none. */
export const DECAY_TYPES = ["IPV4", "IPV6", "CIDR", "DOMAIN", "URL", "EMAIL", "MD5", "SHA1", "SHA256", "SHA512", "FILE_NAME", "DEFAULT"] as const;
export type DecayType = (typeof DECAY_TYPES)[number];
export interface DecayRule {
  /** τ: days from the last sign of life (valid_from, or the latest sighting) to a score of 0. */
  lifetimeDays: number;
  /** δ: above 1 the score falls fast at first, below 1 it holds and then falls late. */
  speed: number;
}

/** Why each default is what it is: docs/operations.md (Decay of indicator scores). */
export const DEFAULT_DECAY_RULES: Record<DecayType, DecayRule> = {
  IPV4: { lifetimeDays: 30, speed: 2 },
  IPV6: { lifetimeDays: 30, speed: 2 },
  CIDR: { lifetimeDays: 90, speed: 1.5 },
  DOMAIN: { lifetimeDays: 90, speed: 1 },
  URL: { lifetimeDays: 30, speed: 1.5 },
  EMAIL: { lifetimeDays: 180, speed: 1 },
  MD5: { lifetimeDays: 365, speed: 0.5 },
  SHA1: { lifetimeDays: 365, speed: 0.5 },
  SHA256: { lifetimeDays: 365, speed: 0.5 },
  SHA512: { lifetimeDays: 365, speed: 0.5 },
  FILE_NAME: { lifetimeDays: 90, speed: 1 },
  DEFAULT: { lifetimeDays: 180, speed: 1 },
};

const DECAY_RULE = /^([A-Z0-9_]+):([0-9]+(?:\.[0-9]+)?):([0-9]+(?:\.[0-9]+)?)$/;

/** `TYPE:lifetimeDays:speed` pairs separated by commas, over the defaults; every bad entry is named. */
const decayRules = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const rules = { ...DEFAULT_DECAY_RULES };
    for (const entry of (v ?? "").split(",").map((e) => e.trim()).filter(Boolean)) {
      const m = DECAY_RULE.exec(entry);
      const type = m?.[1] as DecayType | undefined;
      const lifetimeDays = Number(m?.[2]);
      const speed = Number(m?.[3]);
      if (!m || !DECAY_TYPES.includes(type!)) {
        ctx.addIssue({ code: "custom", message: `'${entry}': expected TYPE:lifetimeDays:speed with TYPE one of ${DECAY_TYPES.join(", ")}` });
      } else if (!(lifetimeDays > 0 && lifetimeDays <= 36500)) {
        ctx.addIssue({ code: "custom", message: `'${entry}': lifetimeDays must be more than 0 and at most 36500` });
      } else if (!(speed >= 0.01 && speed <= 100)) {
        ctx.addIssue({ code: "custom", message: `'${entry}': speed must be from 0.01 to 100` });
      } else rules[type!] = { lifetimeDays, speed };
    }
    return rules;
  });

/** The score of an indicator, which decays with age (MISP's polynomial model; see indicator.score.ts). */
const DecaySchema = z.object({
  /** The score's base for indicators without a confidence (their stored confidence stays absent). */
  DECAY_BASE_WITHOUT_CONFIDENCE: z.coerce.number().int().min(0).max(100).default(50),
  DECAY_RULES: decayRules,
});

const LoggingSchema = z.object({
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

const SCHEMAS = {
  server: ServerSchema,
  database: DatabaseSchema,
  auth: AuthSchema,
  limits: LimitsSchema,
  events: EventsSchema,
  idempotency: IdempotencySchema,
  http: HttpSchema,
  identifiers: IdentifiersSchema,
  taxii: TaxiiSchema,
  decay: DecaySchema,
  verification: VerificationSchema,
  logging: LoggingSchema,
} as const;

type Schemas = typeof SCHEMAS;
export type Config = { [K in keyof Schemas]: z.output<Schemas[K]> };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Parses the environment; throws a ConfigError listing every problem found. A blank variable (`PORT=`
 * in an env file) counts as unset: coerced, it would be 0, a random port or a limit turned off.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const out: Partial<Record<keyof Schemas, unknown>> = {};
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ""));
  for (const [concern, schema] of Object.entries(SCHEMAS) as [keyof Schemas, z.ZodType][]) {
    const parsed = schema.safeParse(set);
    if (parsed.success) {
      out[concern] = parsed.data;
      continue;
    }
    for (const issue of parsed.error.issues) {
      const variable = String(issue.path[0] ?? concern);
      const given = env[variable];
      const shown = given === undefined ? "unset" : `got ${JSON.stringify(given.length > 40 ? `${given.slice(0, 40)}…` : given)}`;
      problems.push(`${variable}: ${issue.message} (${shown})`);
    }
  }
  const server = out.server as Config["server"] | undefined;
  const auth = out.auth as Config["auth"] | undefined;
  if (server?.NODE_ENV === "production" && auth && !auth.AUTH_JWKS_URL && !auth.AUTH_JWKS_FILE) {
    problems.push("AUTH_JWKS_URL: required when NODE_ENV=production (the development issuer is off in production) (unset)");
  }
  const identifiers = out.identifiers as Config["identifiers"] | undefined;
  if (server?.NODE_ENV === "production" && identifiers && !identifiers.IDENTIFIER_HASH_KEYS) {
    problems.push("IDENTIFIER_HASH_KEYS: required when NODE_ENV=production (a development key is made only outside production) (unset)");
  }
  const verification = out.verification as Config["verification"] | undefined;
  if (server?.NODE_ENV === "production" && verification) {
    for (const key of ["RECORD_MASTER_KEYS", "RECORD_INDEX_KEYS"] as const) {
      if (!verification[key]) problems.push(`${key}: required when NODE_ENV=production (a development key is made only outside production) (unset)`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return out as Config;
}

/** For entry points: load the configuration or print every problem and exit non-zero. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** The development issuer is on only when no identity provider's JWKS is configured. */
export function usesDevIssuer(config: Config): boolean {
  return !config.auth.AUTH_JWKS_URL && !config.auth.AUTH_JWKS_FILE;
}

export const DEV_ISSUER = "watchfloor-dev";
export const DEV_AUDIENCE = "watchfloor";
