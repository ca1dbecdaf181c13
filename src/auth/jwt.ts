import { readFile } from "node:fs/promises";
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { DEV_AUDIENCE, DEV_ISSUER, usesDevIssuer, type Config } from "../config.js";
import { unauthenticated } from "../errors.js";
import { ensureDevKeys } from "./dev-keys.js";
import { ORG_ID_PATTERN, ORG_KINDS, type OrgKind, type Viewer } from "./viewer.js";

/** A viewer, or the reason a client is told why its token was refused. */
export type Verified = { ok: true; viewer: Viewer } | { ok: false; reason: string };

export interface TokenVerifier {
  /** The viewer of a valid token; otherwise an UNAUTHENTICATED error that says why. */
  verify(token: string): Promise<Viewer>;
  /** The viewer of an `Authorization: Bearer …` header value. */
  verifyHeader(header: string | undefined | null): Promise<Viewer>;
  /** The same, as a value: for transports that refuse by closing or answering rather than throwing. */
  check(header: unknown): Promise<Verified>;
}

const CACHE_LIMIT = 10_000;

/** Why a token was refused, in words a client developer can act on. */
function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "token expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "nbf") return "token not yet valid";
    if (err.claim === "iss") return "token has the wrong issuer";
    if (err.claim === "aud") return "token has the wrong audience";
    return `token claim '${err.claim}' is missing or invalid`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return "token signing algorithm is not allowed";
  if (err instanceof errors.JWSSignatureVerificationFailed) return "token signature is invalid";
  if (err instanceof errors.JWKSNoMatchingKey) return "token signing key (kid) is unknown";
  if (err instanceof errors.JWKSMultipleMatchingKeys) return "token signing key (kid) is ambiguous";
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return "signing keys are unavailable; try again";
  return "token is malformed";
}

/**
 * Verifies tokens with jose against the identity provider's JWKS (AUTH_JWKS_URL or AUTH_JWKS_FILE) or,
 * when neither is set, the development issuer's key under DATA_DIR. Only asymmetric algorithms from
 * AUTH_ALGORITHMS are accepted, so `alg: none` and HS256-signed-with-the-public-key never pass.
 * Verified tokens are remembered until they expire: the gateway and every subgraph verify each request.
 */
export async function createTokenVerifier(config: Config): Promise<TokenVerifier> {
  const { auth } = config;
  let keys: JWTVerifyGetKey;
  let issuer: string;
  let audience: string;
  if (usesDevIssuer(config)) {
    const files = await ensureDevKeys(config.database.DATA_DIR);
    keys = createLocalJWKSet(JSON.parse(await readFile(files.jwksFile, "utf8")));
    issuer = DEV_ISSUER;
    audience = DEV_AUDIENCE;
  } else {
    keys = auth.AUTH_JWKS_URL
      ? createRemoteJWKSet(new URL(auth.AUTH_JWKS_URL), { cooldownDuration: 30_000, cacheMaxAge: 600_000 })
      : createLocalJWKSet(JSON.parse(await readFile(auth.AUTH_JWKS_FILE!, "utf8")));
    issuer = auth.AUTH_ISSUER!;
    audience = auth.AUTH_AUDIENCE!;
  }
  const skew = auth.AUTH_CLOCK_SKEW_SECONDS;
  const maxLifetime = auth.AUTH_MAX_TOKEN_LIFETIME_SECONDS;
  const cache = new Map<string, Viewer>();

  async function verify(token: string): Promise<Viewer> {
    const cached = cache.get(token);
    if (cached) {
      if (cached.validUntilMs > Date.now()) return cached;
      cache.delete(token);
      throw unauthenticated("token expired");
    }
    let payload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: auth.AUTH_ALGORITHMS,
        issuer,
        audience,
        clockTolerance: skew,
        // `iat` is required, not in the future, and no older than the longest lifetime; with `exp`
        // it bounds the token's life below (an `exp` of 1e300 no longer makes a token for ever).
        requiredClaims: ["iss", "aud", "exp", "sub", "iat"],
        maxTokenAge: maxLifetime,
      }));
    } catch (err) {
      throw unauthenticated(reason(err));
    }
    const { org, org_kind: orgKind, scope, sub, exp, iat } = payload as Record<string, unknown>;
    if (Number(exp) - Number(iat) > maxLifetime) {
      throw unauthenticated(`token lifetime (exp - iat) is longer than the ${maxLifetime} seconds accepted`);
    }
    if (typeof org !== "string" || !ORG_ID_PATTERN.test(org)) throw unauthenticated("token claim 'org' is missing or invalid");
    if (typeof orgKind !== "string" || !ORG_KINDS.includes(orgKind as OrgKind)) {
      throw unauthenticated(`token claim 'org_kind' must be one of ${ORG_KINDS.join(", ")}`);
    }
    if (scope !== undefined && typeof scope !== "string") throw unauthenticated("token claim 'scope' must be a string");
    const viewer: Viewer = Object.freeze({
      sub: String(sub),
      org,
      orgKind: orgKind as OrgKind,
      scopes: new Set((scope ?? "").split(" ").filter(Boolean)),
      expiresAt: Number(exp),
      validUntilMs: (Number(exp) + skew) * 1000,
    });
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(token, viewer);
    return viewer;
  }

  async function verifyHeader(header: string | undefined | null): Promise<Viewer> {
    if (!header) throw unauthenticated("missing bearer token: send 'Authorization: Bearer <JWT>'");
    const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
    if (!match) throw unauthenticated("the Authorization header must be 'Bearer <JWT>'");
    return verify(match[1]!);
  }

  return {
    verify,
    verifyHeader,
    async check(header) {
      try {
        return { ok: true, viewer: await verifyHeader(typeof header === "string" ? header : undefined) };
      } catch (err) {
        return { ok: false, reason: err instanceof Error ? err.message : "token could not be verified" };
      }
    },
  };
}
