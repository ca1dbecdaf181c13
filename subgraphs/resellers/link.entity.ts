import type { Opt } from "@mikro-orm/core";
import { Entity, PrimaryKey, Property } from "@mikro-orm/decorators/legacy";

/**
 * A row of resellers.link: a parent account of kind RESELLER through which the child account was
 * provided. Written through set-based SQL with the closure (resellers.ancestry) in the same
 * transaction (see LinkService).
 */
@Entity({ schema: "resellers", tableName: "link" })
export class LinkEntity {
  @PrimaryKey({ type: "uuid" })
  id!: string;

  @Property({ type: "bigint", unique: true, generated: "always as identity" })
  seq!: number & Opt;

  @Property({ type: "uuid", fieldName: "parent_id" })
  parentId!: string;

  @Property({ type: "uuid", fieldName: "child_id" })
  childId!: string;

  @Property({ type: "timestamptz" })
  since!: Date;

  @Property({ type: "timestamptz", nullable: true })
  until?: Date | null;

  @Property({ type: "text", fieldName: "recorded_by" })
  recordedBy!: string;

  @Property({ type: "text", fieldName: "operator_org", nullable: true })
  operatorOrg?: string | null;

  @Property({ type: "timestamptz", fieldName: "created_at" })
  createdAt!: Date & Opt;
}
