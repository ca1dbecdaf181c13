import { asDate } from "../../src/db/sql.js";
import { listCursors, parseStixId } from "../../src/graphql/ids.js";
import type { Tlp } from "../../src/auth/tlp.js";
import type { Viewer } from "../../src/auth/viewer.js";
import type { IndicatorEntity } from "./indicator.entity.js";
import type { ObservableType } from "./indicator.normalize.js";
import type { Indicator } from "./indicator.type.js";

/** Rows of indicators.indicator, their ids and list cursors, and the GraphQL view of them. */

const ID_PREFIX = "indicator--";

/** A row of indicators.indicator as Postgres returns it (and as event payloads carry it). */
export interface IndicatorRow {
  id: string;
  seq: number;
  owner: string;
  source: "publish" | "stix";
  type: ObservableType | null;
  value: string | null;
  pattern: string;
  pattern_type: string;
  name: string | null;
  indicator_types: string[];
  version_key: string;
  tlp: Tlp;
  confidence: number | null;
  shared_with: string[];
  labels: string[];
  description: string | null;
  valid_from: Date | string;
  valid_until: Date | string | null;
  revoked: boolean;
  created_at: Date | string;
  modified_at: Date | string;
}


/** An entity loaded through MikroORM, in the row shape that reads and event payloads use. */
export function rowOf(e: IndicatorEntity): IndicatorRow {
  return {
    id: e.id,
    seq: Number(e.seq),
    owner: e.owner,
    source: e.source,
    type: e.type ?? null,
    value: e.value ?? null,
    pattern: e.pattern,
    pattern_type: e.patternType,
    name: e.name ?? null,
    indicator_types: e.indicatorTypes,
    version_key: e.versionKey,
    tlp: e.tlp,
    confidence: e.confidence ?? null,
    shared_with: e.sharedWith,
    labels: e.labels,
    description: e.description ?? null,
    valid_from: e.validFrom,
    valid_until: e.validUntil ?? null,
    revoked: e.revoked,
    created_at: e.createdAt,
    modified_at: e.modifiedAt,
  };
}

/** The GraphQL view of a row for this viewer: only the owner sees whom else it was shared with. */
export function toIndicator(row: IndicatorRow, viewer: Viewer): Indicator {
  return {
    id: `${ID_PREFIX}${row.id}`,
    type: row.type,
    value: row.value,
    pattern: row.pattern,
    patternType: row.pattern_type,
    name: row.name,
    indicatorTypes: row.indicator_types,
    tlp: row.tlp,
    confidence: row.confidence,
    owner: row.owner,
    sharedWith: row.owner === viewer.org ? row.shared_with : row.shared_with.filter((o) => o === viewer.org),
    labels: row.labels,
    description: row.description,
    validFrom: asDate(row.valid_from),
    validUntil: row.valid_until === null ? null : asDate(row.valid_until),
    revoked: row.revoked,
    createdAt: asDate(row.created_at),
    modifiedAt: asDate(row.modified_at),
  };
}

/** `indicator--<uuid>` to the stored uuid; anything else cannot name an indicator. */
export const parseIndicatorId = (id: string) => parseStixId("indicator", id);

/** List cursors: positions in the newest-first order of `indicators`. */
const cursors = listCursors("ix");
export const pageCursor = cursors.encode;
export const parsePageCursor = cursors.decode;
