import type { Opt } from "@mikro-orm/core";
import { Entity, Index, PrimaryKey, Property, Unique } from "@mikro-orm/decorators/legacy";
import type { Tlp } from "../../src/auth/tlp.js";
import type { ObservableType } from "./indicator.normalize.js";

/**
 * A row of indicators.indicator: the newest version of one STIX indicator object of one owner (see
 * the stix_store migration). Writes go through SQL (IndicatorService, StixImportService).
 */
@Entity({ schema: "indicators", tableName: "indicator" })
@Unique({ properties: ["owner", "id"] })
export class IndicatorEntity {
  /** Assigned by Postgres (identity); pages are keyed on it. */
  @PrimaryKey({ type: "bigint", generated: "by default as identity" })
  seq!: number & Opt;

  /** The uuid of the STIX id `indicator--<uuid>`. */
  @Property({ type: "uuid" })
  id!: string;

  @Property({ type: "text" })
  owner!: string;

  @Property({ type: "text" })
  source!: "publish" | "stix";

  /** The first observable the pattern names, if any (all of them are in indicators.observable). */
  @Property({ type: "text", nullable: true })
  type?: ObservableType | null;

  @Index()
  @Property({ type: "text", nullable: true })
  value?: string | null;

  @Property({ type: "text" })
  pattern!: string;

  @Property({ type: "text", fieldName: "pattern_type" })
  patternType!: string;

  @Property({ type: "text", nullable: true })
  name?: string | null;

  @Property({ type: "text[]", fieldName: "indicator_types" })
  indicatorTypes!: string[];

  @Property({ type: "text", fieldName: "version_key" })
  versionKey!: string;

  @Property({ type: "text" })
  tlp!: Tlp;

  @Property({ type: "smallint", nullable: true })
  confidence?: number | null;

  @Property({ type: "text[]", fieldName: "shared_with" })
  sharedWith!: string[];

  @Property({ type: "text[]" })
  labels!: string[];

  @Property({ type: "text", nullable: true })
  description?: string | null;

  @Property({ type: "Date", fieldName: "valid_from" })
  validFrom!: Date;

  @Property({ type: "Date", fieldName: "valid_until", nullable: true })
  validUntil?: Date | null;

  @Property({ type: "boolean" })
  revoked!: boolean & Opt;

  @Property({ type: "Date", fieldName: "created_at" })
  createdAt!: Date & Opt;

  @Property({ type: "Date", fieldName: "modified_at" })
  modifiedAt!: Date & Opt;
}
