import { visibleToSql } from "../../src/auth/tlp.js";
import type { Viewer } from "../../src/auth/viewer.js";
import type { Config, DecayType } from "../../src/config.js";
import type { EntityManager } from "@mikro-orm/postgresql";
import { Params, query } from "../../src/db/sql.js";

/**
 * An indicator's score for one viewer, as SQL, so that lists and lookups filter on it in the query
 * (pages stay keyset pages) and the field reads the same number. MISP's polynomial decay:
 *
 *   score = base × (1 − (t/τ)^(1/δ)), clamped to [0, base]
 *
 * base: the confidence, or DECAY_BASE_WITHOUT_CONFIDENCE; t: the time since the indicator's last sign
 * of life, the later of valid_from and the last_seen of the latest sighting this viewer may see (so
 * that a sighting hidden from a viewer does not change what that viewer reads); τ and δ: per observable
 * type (DECAY_RULES). A valid_from in the future counts as t = 0.
 *
 * `aged`: past τ or past valid_until. `expired`: aged, or revoked; its score is 0.
 *
 * Every value is a parameter: the texts stay the same whatever the configuration, so statements stay
 * prepared. `rel` names the indicator row in the enclosing statement (code, never input).
 */
export function decaySql(viewer: Pick<Viewer, "org">, params: Params, decay: Config["decay"], rel: string): string {
  const rules = Object.entries(decay.DECAY_RULES) as [DecayType, { lifetimeDays: number; speed: number }][];
  const types = params.add(rules.map(([type]) => type));
  const lifetimes = params.add(rules.map(([, r]) => r.lifetimeDays * 86400));
  const speeds = params.add(rules.map(([, r]) => r.speed));
  const base = params.add(decay.DECAY_BASE_WITHOUT_CONFIDENCE);
  const visible = visibleToSql(viewer, params, { owner: "s.owner", tlp: "s.tlp", sharedWith: "s.shared_with" });
  const at = `array_position(${types}::text[], coalesce(${rel}.type, 'DEFAULT'))`;
  return `(select case when x.revoked or x.aged then 0::float8 else greatest(0, least(x.base, x.base * (1 - power(x.t / x.tau, 1 / x.delta)))) end as score,
                  x.revoked or x.aged as expired, x.aged
             from (select y.*, y.t >= y.tau or coalesce(${rel}.valid_until <= now(), false) as aged
                     from (select ${rel}.revoked,
                                  coalesce(${rel}.confidence, ${base}::int)::float8 as base,
                                  (${lifetimes}::float8[])[${at}] as tau,
                                  (${speeds}::float8[])[${at}] as delta,
                                  greatest(0, extract(epoch from now() - greatest(${rel}.valid_from,
                                    (select max(s.last_seen) from indicators.sighting s where s.indicator_id = ${rel}.id and ${visible}))))::float8 as t) y) x)`;
}

export interface DecayFilter {
  minScore?: number | null;
  includeExpired?: boolean | null;
}

/**
 * The condition of `minScore` and `includeExpired` on the row `rel` (an absent filter is a null
 * parameter). Leaves revoked indicators to the caller's own condition (`includeRevoked`).
 */
export function decayFilterSql(viewer: Pick<Viewer, "org">, params: Params, decay: Config["decay"], rel: string, filter: DecayFilter): string {
  const row = decaySql(viewer, params, decay, rel);
  const minScore = params.add(filter.minScore ?? null);
  const includeExpired = params.add(Boolean(filter.includeExpired));
  return `(select (${includeExpired}::boolean or not d.aged) and (${minScore}::float8 is null or d.score >= ${minScore}::float8) from ${row} d)`;
}

export interface Decay {
  score: number;
  expired: boolean;
}

/** The score and expiry, for the viewer, of each indicator named by its owner and uuid, in one statement. */
export async function decayOf(
  em: EntityManager,
  viewer: Pick<Viewer, "org">,
  decay: Config["decay"],
  keys: readonly { owner: string; id: string }[],
): Promise<(Decay | null)[]> {
  const params = new Params();
  const row = decaySql(viewer, params, decay, "i");
  const rows = await query<{ owner: string; id: string; score: number; expired: boolean }>(
    em,
    `select i.owner, i.id, d.score, d.expired from indicators.indicator i cross join lateral ${row} d
      where (i.owner, i.id) in (select * from unnest(${params.add(keys.map((k) => k.owner))}::text[], ${params.add(keys.map((k) => k.id))}::uuid[]))`,
    params.values,
    "indicator_decay",
  );
  const byKey = new Map(rows.map((r) => [`${r.owner}\u0000${r.id}`, { score: r.score, expired: r.expired }]));
  return keys.map((k) => byKey.get(`${k.owner}\u0000${k.id}`) ?? null);
}

/** minScore's bounds: a score is never above 100 (the highest confidence and base). */
export function checkMinScore(minScore: number | null | undefined, field: string): string | null {
  if (minScore == null) return null;
  return Number.isFinite(minScore) && minScore >= 0 && minScore <= 100 ? null : `${field}: must be from 0 to 100`;
}
