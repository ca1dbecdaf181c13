import { createHash, randomUUID } from "node:crypto";
import { HeaderMap, type ApolloServerPlugin, type GraphQLResponse } from "@apollo/server";
import type { EntityManager } from "@mikro-orm/postgresql";
import { GraphQLError, type FormattedExecutionResult } from "graphql";
import { openText, sealText, type MasterKeyRing } from "../crypto/envelope.js";
import { query } from "../db/sql.js";
import { ErrorCode, expectedCode, isGraphQLError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Context } from "./context.js";

/**
 * Writes that can be retried: the `Idempotency-Key` request header (IETF httpapi draft "The
 * Idempotency-Key HTTP Header Field") on any mutation of any subgraph.
 *
 * A mutation with a key runs in one transaction, opened before it executes and committed after its
 * answer is known, and the answer is recorded in `hub.idempotency` inside that same transaction. The
 * writes and the record of them therefore commit together or not at all: whatever a client could not
 * learn (a lost answer, a timeout, a crash), a retry with the same key either finds the record and gets
 * the first answer with nothing written, or finds none because nothing committed, and runs afresh. A
 * transaction-scoped advisory lock on (org, subgraph, key) makes a concurrent second request with the
 * key refused at once instead of waiting. docs/architecture.md gives the whole reasoning.
 */

export const IDEMPOTENCY_HEADER = "idempotency-key";
/** What a key may be: a UUID, a ULID, base64 or a prefixed id, up to 255 characters. */
const KEY = /^[A-Za-z0-9._:~+/=-]{1,255}$/;
const LOCK_SPACE = "watchfloor-idempotency";

export interface IdempotencyOptions {
  /** One client request may reach several subgraphs: each records its own part under the key. */
  subgraph: string;
  windowSeconds: number;
  log: Logger;
}

interface StoredAnswer {
  fingerprint: string;
  status: number | null;
  response: string;
}

const refusal = (message: string, code: ErrorCode, status: number) =>
  new GraphQLError(`Idempotency-Key: ${message}`, { extensions: { code, http: { status } } });

/** The key from the header: a structured-field string in quotes, as the draft writes it, or bare. */
function parseKey(header: string): string {
  const quoted = header.length >= 2 && header.startsWith('"') && header.endsWith('"');
  const key = quoted ? header.slice(1, -1) : header;
  if (!KEY.test(key)) {
    throw refusal("1-255 characters of A-Z, a-z, 0-9 and . _ : ~ + / = -, optionally in double quotes (a UUID is best)", ErrorCode.BAD_REQUEST, 400);
  }
  return key;
}

/**
 * The answer kept for a retry, sealed (AES-256-GCM, a data key of its own wrapped by the record master
 * key, bound to org, subgraph and key): a mutation's answer may hold what it decrypted (a customer
 * record), and no personal value reaches PostgreSQL in clear.
 */
const answerAad = (org: string, subgraph: string, key: string) => `hub.idempotency.response:${JSON.stringify([org, subgraph, key])}`;

function sealAnswer(keys: MasterKeyRing, aad: string, answer: unknown): string {
  const { plain, keyId, wrapped } = keys.newDataKey(aad);
  return JSON.stringify({ sealed: { keyId, key: wrapped.toString("base64"), answer: sealText(plain, JSON.stringify(answer), aad).toString("base64") } });
}

function openAnswer(keys: MasterKeyRing, aad: string, text: string): FormattedExecutionResult {
  const stored = JSON.parse(text);
  // An answer kept before answers were sealed is plain JSON.
  if (!stored?.sealed) return stored;
  const plain = keys.unwrap(stored.sealed.keyId, Buffer.from(stored.sealed.key, "base64"), aad);
  return JSON.parse(openText(plain, Buffer.from(stored.sealed.answer, "base64"), aad));
}

/** An error the same request would meet again: expected codes, and GraphQL's own about the request. */
const repeatable = (err: unknown) => expectedCode(err) !== undefined || (isGraphQLError(err) && !err.originalError);

export function idempotencyPlugin(options: IdempotencyOptions): ApolloServerPlugin<Context> {
  const { subgraph, windowSeconds, log } = options;
  return {
    async requestDidStart({ request, contextValue }) {
      const header = request.http?.headers.get(IDEMPOTENCY_HEADER);
      if (header === undefined) return;
      /** The open transaction of a mutation that runs under a key, until it commits or rolls back. */
      let open: { em: EntityManager; key: string; fingerprint: string } | undefined;
      let replay: GraphQLResponse | null = null;
      return {
        async didResolveOperation({ operation, source }) {
          // Queries and subscriptions change nothing: the header means nothing to them.
          if (operation?.operation !== "mutation") return;
          const key = parseKey(header);
          // The token's scopes are part of the request: the stored answer is replayed before any resolver
          // checks them, so a token of the same org without the scopes (a write-only job reading back a
          // record) must not match it.
          const scopes = [...contextValue.viewer.scopes].sort();
          const fingerprint = createHash("sha256")
            .update(JSON.stringify([source, request.operationName ?? null, request.variables ?? {}, scopes]))
            .digest("hex");
          const org = contextValue.viewer.org;
          const em = contextValue.em;
          await em.begin();
          try {
            const [lock] = await query<{ held: boolean }>(
              em,
              "select pg_try_advisory_xact_lock(hashtextextended($1, 0)) as held",
              [JSON.stringify([LOCK_SPACE, org, subgraph, key])],
              "idempotency_lock",
            );
            if (!lock!.held) {
              throw refusal("a request with this key is still being processed; retry once it has finished", ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS, 409);
            }
            const [stored] = await query<StoredAnswer>(
              em,
              `select fingerprint, status, response from hub.idempotency
                where org = $1 and subgraph = $2 and key = $3 and created_at > now() - make_interval(secs => $4)`,
              [org, subgraph, key, windowSeconds],
              "idempotency_find",
            );
            if (stored && stored.fingerprint !== fingerprint) {
              throw refusal("this key was used for a different request; send a new request with a new key", ErrorCode.IDEMPOTENCY_KEY_REUSED, 422);
            }
            if (stored) {
              await em.rollback();
              replay = {
                http: { status: stored.status ?? undefined, headers: new HeaderMap() },
                body: { kind: "single", singleResult: openAnswer(contextValue.hub.recordKeys.master, answerAad(org, subgraph, key), stored.response) },
              };
              return;
            }
            open = { em, key, fingerprint };
          } catch (err) {
            if (!open) await em.rollback().catch(() => undefined);
            throw err;
          }
        },

        async responseForOperation() {
          return replay;
        },

        async willSendResponse({ response, errors }) {
          if (!open) return;
          const { em, key, fingerprint } = open;
          open = undefined;
          // An unexpected failure is no answer to keep: nothing of it commits, and a retry runs afresh.
          if (response.body.kind !== "single" || errors?.some((e) => !repeatable(e))) {
            await em.rollback().catch((err) => log.warn({ err, requestId: contextValue.requestId }, "rollback of an idempotent mutation failed"));
            return;
          }
          try {
            await query(
              em,
              `insert into hub.idempotency (org, subgraph, key, fingerprint, status, response) values ($1, $2, $3, $4, $5, $6)
               on conflict (org, subgraph, key) do update
                 set fingerprint = excluded.fingerprint, status = excluded.status, response = excluded.response, created_at = now()`,
              [
                contextValue.viewer.org,
                subgraph,
                key,
                fingerprint,
                response.http.status ?? null,
                sealAnswer(contextValue.hub.recordKeys.master, answerAad(contextValue.viewer.org, subgraph, key), response.body.singleResult),
              ],
              "idempotency_record",
            );
            await em.commit();
          } catch (err) {
            await em.rollback().catch(() => undefined);
            // Nothing committed: the client must not be told that the writes happened.
            const correlationId = randomUUID();
            log.error({ correlationId, err, requestId: contextValue.requestId }, "idempotent mutation could not commit");
            response.http.status = 500;
            response.body = {
              kind: "single",
              singleResult: { errors: [{ message: `Internal error; quote reference ${correlationId} to the hub's operators`, extensions: { code: "INTERNAL_SERVER_ERROR", correlationId } }] },
            };
          }
        },
      };
    },
  };
}

/** Deletes records older than the window; a key older than that is a new request anyway. */
export async function pruneIdempotencyRecords(em: EntityManager, windowSeconds: number): Promise<number> {
  const [row] = await query<{ n: number }>(
    em,
    "with gone as (delete from hub.idempotency where created_at < now() - make_interval(secs => $1) returning 1) select count(*)::int as n from gone",
    [windowSeconds],
    "idempotency_prune",
  );
  return row!.n;
}
