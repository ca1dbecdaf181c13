import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { hasScope, type Viewer } from "../../src/auth/viewer.js";
import { asDate, query } from "../../src/db/sql.js";
import { forbidden } from "../../src/errors.js";
import type { Context } from "../../src/graphql/context.js";
import { audit } from "./audit.trail.js";
import type { ExemptionInput } from "./exemption.input.js";
import { exemptionId, type ExemptAccountKind, type Exemption, type ExemptionResult, type ExemptionScope } from "./exemption.type.js";
import { checkExemption, utcDay } from "./exemption.validation.js";

/** The kinds of organisation that hold accounts, and so have exemptions and reports: never an agency or an operator. */
const ACCOUNT_HOLDERS: ReadonlySet<string> = new Set(["PROVIDER", "RESELLER"]);

/** Refuses an agency or an operator: exemptions, like the certification report, are a provider's own. */
export function requireAccountHolder(viewer: Viewer, what: string): void {
  if (!ACCOUNT_HOLDERS.has(viewer.orgKind)) throw forbidden(`${what} is a provider's own: an agency or an operator has none`);
}

/** verification.exemption as reads return it (dates as text: calendar days, not instants). */
interface ExemptionRow {
  id: string;
  seq: string;
  owner: string;
  scope: ExemptionScope;
  account_kind: ExemptAccountKind | null;
  product: string | null;
  basis: string;
  granted_on: string;
  expires_on: string;
  created_by: string;
  created_at: Date | string;
}

const COLUMNS = `id, seq, owner, scope, account_kind, product, basis, granted_on::text as granted_on, expires_on::text as expires_on, created_by, created_at`;

/** The exemption that covers an account, as the report and `Account.verificationStatus` name it. */
export interface CoveringExemption {
  id: string;
  scope: ExemptionScope;
  basis: string;
}

/**
 * In force on the UTC day of `$at`: from the start of granted_on to the start of expires_on. `e` is
 * the exemption's alias, `at` a timestamptz parameter.
 */
export const exemptionInForceSql = (e: string, at: string) => `(${e}.granted_on <= (${at} at time zone 'UTC')::date and ${e}.expires_on > (${at} at time zone 'UTC')::date)`;

/**
 * Whether exemption `e` covers the account of kind `kind` whose record names `product` (SQL
 * expressions). When several cover one account, the broadest counts: provider, then kind, then product.
 */
export const exemptionCoversSql = (e: string, kind: string, product: string) =>
  `(${e}.scope = 'PROVIDER' or (${e}.scope = 'ACCOUNT_KIND' and ${e}.account_kind = ${kind}) or (${e}.scope = 'PRODUCT' and ${e}.product = ${product}))`;
export const exemptionPrecedenceSql = (e: string) => `case ${e}.scope when 'PROVIDER' then 0 when 'ACCOUNT_KIND' then 1 else 2 end, ${e}.granted_on, ${e}.seq`;

/**
 * The exemption of `owner` that covers an account of `kind` (and, when its record names one,
 * `product`) at `at`, or null: an account it covers needs no verification and reads EXEMPT.
 */
export async function exemptionFor(em: EntityManager, owner: string, account: { kind: string | null; product: string | null }, at: Date): Promise<CoveringExemption | null> {
  const [row] = await query<CoveringExemption>(
    em,
    `select e.id, e.scope, e.basis from verification.exemption e
      where e.owner = $1 and ${exemptionInForceSql("e", "$2::timestamptz")} and ${exemptionCoversSql("e", "$3::text", "$4::text")}
      order by ${exemptionPrecedenceSql("e")} limit 1`,
    [owner, at, account.kind, account.product],
    "verification_exemption_for",
  );
  return row ? { ...row, id: exemptionId(row.id) } : null;
}

/**
 * Of these accounts (uuids), those the viewer may see as EXEMPT at `at`: accounts of the viewer's own
 * org (the provider, with verification:read) that one of its exemptions in force covers, by the
 * account's kind and its record's product. For `Account.verificationStatus`, batched: one query.
 */
export async function exemptAccountsOf(em: EntityManager, viewer: Viewer, accountUuids: readonly string[], at: Date): Promise<Set<string>> {
  if (!accountUuids.length || !hasScope(viewer, "verification:read")) return new Set();
  const rows = await query<{ id: string }>(
    em,
    `select a.id from verification.account a
       left join verification.customer_record r on r.account_id = a.id and r.owner = a.provider
      where a.id = any($1::uuid[]) and a.provider = $2
        and exists (select 1 from verification.exemption e
                     where e.owner = a.provider and ${exemptionInForceSql("e", "$3::timestamptz")} and ${exemptionCoversSql("e", "a.kind", "r.product")})`,
    [accountUuids, viewer.org, at],
    "verification_exempt_accounts",
  );
  return new Set(rows.map((r) => r.id));
}

function toExemption(row: ExemptionRow, now: Date): Exemption {
  const today = utcDay(now);
  return {
    id: exemptionId(row.id),
    scope: row.scope,
    accountKind: row.account_kind,
    product: row.product,
    basis: row.basis,
    grantedOn: row.granted_on,
    expiresOn: row.expires_on,
    active: row.granted_on <= today && today < row.expires_on,
    recordedBy: row.created_by,
    recordedAt: asDate(row.created_at),
  };
}

/** Exemptions (EO 13984 §1(c)) the provider records for itself; each grant is audited with it. */
export class ExemptionService {
  constructor(private readonly ctx: Context) {}

  async grant(input: ExemptionInput): Promise<ExemptionResult> {
    requireAccountHolder(this.ctx.viewer, "an exemption");
    const now = this.ctx.hub.clock();
    const checked = checkExemption(input, now);
    if (!checked.ok) return { exemption: null, error: checked.error };
    const e = checked.value;
    const viewer = this.ctx.viewer;
    return this.ctx.em.transactional(async (em) => {
      const id = randomUUID();
      const [row] = await query<ExemptionRow>(
        em,
        `insert into verification.exemption (id, owner, scope, account_kind, product, basis, granted_on, expires_on, created_by, created_at)
         values ($1, $2, $3, $4, $5, $6, $7::date, $8::date, $9, $10) returning ${COLUMNS}`,
        [id, viewer.org, e.scope, e.accountKind, e.product, e.basis, e.grantedOn, e.expiresOn, `${viewer.org}/${viewer.sub}`, now],
        "verification_exemption_insert",
      );
      // The basis is the provider's own words about a programme, not a customer's: still, the link keeps to ids and dates.
      await audit(
        em,
        viewer,
        { org: viewer.org, action: "EXEMPTION_GRANTED", detail: { exemption: id, scope: e.scope, accountKind: e.accountKind, grantedOn: e.grantedOn, expiresOn: e.expiresOn } },
        now,
      );
      return { exemption: toExemption(row!, now), error: null };
    });
  }

  /** The caller's exemptions, oldest grant first; with `activeAt`, only those in force then. */
  async list(activeAt: Date | null | undefined): Promise<Exemption[]> {
    const rows = await query<ExemptionRow>(
      this.ctx.em,
      `select ${COLUMNS} from verification.exemption e
        where e.owner = $1 and ($2::timestamptz is null or ${exemptionInForceSql("e", "$2::timestamptz")})
        order by e.granted_on, e.seq`,
      [this.ctx.viewer.org, activeAt ?? null],
      "verification_exemptions",
    );
    const now = this.ctx.hub.clock();
    return rows.map((r) => toExemption(r, now));
  }
}
