/** Who is asking: the verified claims of a token, nothing a client could set without a signature. */
export const ORG_KINDS = ["PROVIDER", "RESELLER", "AGENCY", "OPERATOR"] as const;
export type OrgKind = (typeof ORG_KINDS)[number];

export const SCOPES = [
  "indicators:read",
  "indicators:write",
  "incidents:read",
  "incidents:write",
  "accounts:read",
  "accounts:write",
  "resellers:read",
  "resellers:write",
  "verification:read",
  "verification:write",
  "verification:disclose",
  "measures:read",
  "measures:write",
  "measures:screen",
  "admin",
] as const;
export type Scope = (typeof SCOPES)[number];

/** Organisation ids are short slugs: they appear in sharedWith lists, logs and tokens. */
export const ORG_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export interface Viewer {
  readonly sub: string;
  readonly org: string;
  readonly orgKind: OrgKind;
  readonly scopes: ReadonlySet<string>;
  /** The token's `exp` (epoch seconds). */
  readonly expiresAt: number;
  /**
   * When the hub stops accepting the token (epoch ms): `exp` plus the allowed clock skew. Connections
   * and subscriptions end at this moment, the same moment verification starts refusing the token.
   */
  readonly validUntilMs: number;
}

export function hasScope(viewer: Viewer, scope: Scope): boolean {
  return viewer.scopes.has(scope);
}
