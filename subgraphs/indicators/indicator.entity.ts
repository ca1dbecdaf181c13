import type { Opt } from "@mikro-orm/core";
import { Entity, Index, PrimaryKey, Property, Unique } from "@mikro-orm/decorators/legacy";
import type { Tlp } from "../../src/auth/tlp.js";
import type { ObservableType } from "./indicator.normalize.js";

/** A row of indicators.indicator. Bulk writes go through SQL (see IndicatorService.publish). */
@Entity({ schema: "indicators", tableName: "indicator" })
@Unique({ properties: ["owner", "type", "value"] })
export class IndicatorEntity {
  @PrimaryKey({ type: "uuid" })
  id!: string;

  /** Assigned by Postgres (identity); pages are keyed on it. */
  @Property({ type: "bigint", unique: true, generated: "by default as identity" })
  seq!: number & Opt;

  @Property({ type: "text" })
  owner!: string;

  @Property({ type: "text" })
  type!: ObservableType;

  @Index()
  @Property({ type: "text" })
  value!: string;

  @Property({ type: "text" })
  tlp!: Tlp;

  @Property({ type: "smallint" })
  confidence!: number;

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
