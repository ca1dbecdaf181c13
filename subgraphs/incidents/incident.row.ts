import { asDate } from "../../src/db/sql.js";
import type { Tlp } from "../../src/auth/tlp.js";
import type { Viewer } from "../../src/auth/viewer.js";
import { listCursors, parseStixId } from "../../src/graphql/ids.js";
import type { Determination, IncidentStatus, InvestigationStatus, ProductKind, Resolution, Severity, TimelineKind } from "./incident.enums.js";
import type { Incident } from "./incident.type.js";

/** Rows of incidents.incident, their ids and list cursors, and the GraphQL view of them. */

const ID_PREFIX = "incident--";

/** A row as Postgres returns it, and as event payloads carry it. */
export interface IncidentRow {
  id: string;
  seq: number;
  owner: string;
  source_ref: string | null;
  title: string;
  description: string | null;
  severity: Severity;
  status: IncidentStatus;
  resolution: Resolution | null;
  tlp: Tlp;
  shared_with: string[];
  referred_to: string[];
  determination: Determination | null;
  investigation_status: InvestigationStatus | null;
  incident_types: string[];
  criticality: number | null;
  detection_methods: string[];
  affected_products: ProductKind[];
  indicator_ids: string[];
  /** Account uuids (`account--<uuid>`); in events written before accounts existed, ids as given. */
  account_ids: string[];
  occurred_at: Date | string | null;
  detected_at: Date | string | null;
  reported_at: Date | string;
  created_at: Date | string;
  modified_at: Date | string;
}

/** A timeline entry as an event carries it: who may read it follows from these, never from its text. */
export interface EntryMark {
  id: number;
  kind: TimelineKind;
  author_org: string;
  agencies: string[];
}

/**
 * The payload of an incident event: the row after the change, and the timeline entries the change
 * wrote. The feed shows the incident as of the event from it: its timeline is the entries up to the
 * last of these, and who may learn of the event follows from who may read them.
 */
export interface IncidentEventPayload extends IncidentRow {
  entries: EntryMark[];
}

const asOptionalDate = (d: Date | string | null) => (d === null ? null : asDate(d));

/** Who may see an AMBER or RED incident besides its owner. */
export const audienceOf = (row: Pick<IncidentRow, "shared_with" | "referred_to">) => [...new Set([...row.shared_with, ...row.referred_to])];

/** The GraphQL view of a row for this viewer: only the owner sees the full sharing and referral lists. */
export function toIncident(row: IncidentRow, viewer: Viewer): Incident {
  const mine = row.owner === viewer.org;
  return {
    id: `${ID_PREFIX}${row.id}`,
    uuid: row.id,
    title: row.title,
    description: row.description,
    severity: row.severity,
    status: row.status,
    resolution: row.resolution,
    tlp: row.tlp,
    owner: row.owner,
    sourceRef: mine ? row.source_ref : null,
    sharedWith: mine ? row.shared_with : row.shared_with.filter((o) => o === viewer.org),
    referredTo: mine ? row.referred_to : row.referred_to.filter((o) => o === viewer.org),
    determination: row.determination,
    investigationStatus: row.investigation_status,
    incidentTypes: row.incident_types,
    criticality: row.criticality,
    detectionMethods: row.detection_methods,
    affectedProducts: row.affected_products,
    indicatorUuids: row.indicator_ids,
    accountUuids: accountUuidsOf(row.account_ids),
    occurredAt: asOptionalDate(row.occurred_at),
    detectedAt: asOptionalDate(row.detected_at),
    reportedAt: asDate(row.reported_at),
    createdAt: asDate(row.created_at),
    modifiedAt: asDate(row.modified_at),
  };
}

/** `incident--<uuid>` to the stored uuid; anything else cannot name an incident. */
export const parseIncidentId = (id: string) => parseStixId("incident", id);

/** `indicator--<uuid>` to its uuid, for links to the indicators subgraph's entities. */
export const parseIndicatorRef = (id: string) => parseStixId("indicator", id);

/** `account--<uuid>` to its uuid, for links to the accounts subgraph's entities. */
export const parseAccountRef = (id: string) => parseStixId("account", id);

/**
 * The stored account links. Events written before incidents linked the accounts subgraph carry ids as
 * given: as the migration did to stored rows, only those naming an account (`account--<uuid>`) count.
 */
const accountUuidsOf = (ids: readonly string[]) => ids.map((id) => parseAccountRef(id) ?? parseAccountRef(`account--${id}`)).filter((u): u is string => u !== null);

/** List cursors: positions in the newest-first order of `incidents`. */
const cursors = listCursors("in");
export const pageCursor = cursors.encode;
export const parsePageCursor = cursors.decode;
