import type { Opt } from "@mikro-orm/core";
import { Entity, PrimaryKey, Property, Unique } from "@mikro-orm/decorators/legacy";
import type { Tlp } from "../../src/auth/tlp.js";
import type { Determination, IncidentStatus, InvestigationStatus, ProductKind, Resolution, Severity } from "./incident.enums.js";
import type { IncidentRow } from "./incident.row.js";

/** A row of incidents.incident. Reports are written through SQL (see IncidentService.report). */
@Entity({ schema: "incidents", tableName: "incident" })
@Unique({ properties: ["owner", "sourceRef"] })
export class IncidentEntity {
  @PrimaryKey({ type: "uuid" })
  id!: string;

  @Property({ type: "bigint", unique: true, generated: "always as identity" })
  seq!: number & Opt;

  @Property({ type: "text" })
  owner!: string;

  @Property({ type: "text", fieldName: "source_ref", nullable: true })
  sourceRef?: string | null;

  @Property({ type: "text" })
  title!: string;

  @Property({ type: "text", nullable: true })
  description?: string | null;

  @Property({ type: "text" })
  severity!: Severity;

  @Property({ type: "text" })
  status!: IncidentStatus;

  @Property({ type: "text", nullable: true })
  resolution?: Resolution | null;

  @Property({ type: "text" })
  tlp!: Tlp;

  @Property({ type: "text[]", fieldName: "shared_with" })
  sharedWith!: string[];

  @Property({ type: "text[]", fieldName: "referred_to" })
  referredTo!: string[];

  @Property({ type: "text", nullable: true })
  determination?: Determination | null;

  @Property({ type: "text", fieldName: "investigation_status", nullable: true })
  investigationStatus?: InvestigationStatus | null;

  @Property({ type: "text[]", fieldName: "incident_types" })
  incidentTypes!: string[];

  @Property({ type: "smallint", nullable: true })
  criticality?: number | null;

  @Property({ type: "text[]", fieldName: "detection_methods" })
  detectionMethods!: string[];

  @Property({ type: "text[]", fieldName: "affected_products" })
  affectedProducts!: ProductKind[];

  @Property({ type: "uuid[]", fieldName: "indicator_ids" })
  indicatorIds!: string[];

  @Property({ type: "uuid[]", fieldName: "account_ids" })
  accountIds!: string[];

  @Property({ type: "Date", fieldName: "occurred_at", nullable: true })
  occurredAt?: Date | null;

  @Property({ type: "Date", fieldName: "detected_at", nullable: true })
  detectedAt?: Date | null;

  @Property({ type: "Date", fieldName: "reported_at" })
  reportedAt!: Date & Opt;

  @Property({ type: "Date", fieldName: "created_at" })
  createdAt!: Date & Opt;

  @Property({ type: "Date", fieldName: "modified_at" })
  modifiedAt!: Date & Opt;
}

/** An entity loaded through MikroORM, in the row shape that reads and event payloads use. */
export function rowOf(e: IncidentEntity): IncidentRow {
  return {
    id: e.id,
    seq: Number(e.seq),
    owner: e.owner,
    source_ref: e.sourceRef ?? null,
    title: e.title,
    description: e.description ?? null,
    severity: e.severity,
    status: e.status,
    resolution: e.resolution ?? null,
    tlp: e.tlp,
    shared_with: e.sharedWith,
    referred_to: e.referredTo,
    determination: e.determination ?? null,
    investigation_status: e.investigationStatus ?? null,
    incident_types: e.incidentTypes,
    criticality: e.criticality ?? null,
    detection_methods: e.detectionMethods,
    affected_products: e.affectedProducts,
    indicator_ids: e.indicatorIds,
    account_ids: e.accountIds,
    occurred_at: e.occurredAt ?? null,
    detected_at: e.detectedAt ?? null,
    reported_at: e.reportedAt,
    created_at: e.createdAt,
    modified_at: e.modifiedAt,
  };
}
